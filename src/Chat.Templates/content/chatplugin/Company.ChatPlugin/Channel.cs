using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Chat;
using Chat.Plugins;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Company.ChatPlugin;

/// <summary>Binds the options from the plugin's configuration section.</summary>
public sealed class Startup : IPluginStartup
{
    /// <inheritdoc />
    public void ConfigureServices(PluginStartupContext context, IServiceCollection services) =>
        services.Configure<ChannelOptions>(context.Configuration);
}

/// <summary>
/// The channel: the platform posts <c>{"id","user","text"}</c> with <c>X-Signature: hex(HMAC-SHA256(secret, body))</c>;
/// replies are posted to <see cref="ChannelOptions.ReplyUrl"/> signed the same way. Replace the protocol with your platform's.
/// </summary>
public sealed class Channel(IOptions<ChannelOptions> options, IHttpClientFactory http) : IWebhookHandler, IChannelSender
{
    /// <inheritdoc />
    public string ChannelId => options.Value.ChannelId;

    /// <summary>The signature of a body.</summary>
    public static string Sign(string secret, ReadOnlySpan<byte> body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    /// <inheritdoc />
    public ValueTask<WebhookResult> HandleAsync(WebhookRequest request, CancellationToken cancellationToken)
    {
        var expected = Encoding.ASCII.GetBytes(Sign(options.Value.Secret, request.Body.Span));
        var given = Encoding.ASCII.GetBytes(request.GetHeader("X-Signature") ?? string.Empty);
        if (!CryptographicOperations.FixedTimeEquals(expected, given))
        {
            return ValueTask.FromResult(WebhookResult.ReplyOnly(WebhookResponse.Text(401, "X-Signature is missing or wrong.")));
        }

        Push? push;
        try
        {
            push = JsonSerializer.Deserialize<Push>(request.Body.Span, JsonSerializerOptions.Web);
        }
        catch (JsonException ex)
        {
            return ValueTask.FromResult(WebhookResult.ReplyOnly(WebhookResponse.Text(400, "Malformed JSON: " + ex.Message)));
        }

        if (push is not { Id.Length: > 0, User.Length: > 0, Text.Length: > 0 })
        {
            return ValueTask.FromResult(WebhookResult.ReplyOnly(WebhookResponse.Text(400, "id, user and text are required.")));
        }

        var message = new InboundMessage { PlatformUserId = push.User, PlatformMessageId = push.Id, Content = push.Text };
        return ValueTask.FromResult(new WebhookResult(WebhookResponse.Text(200, "ok"), [message]));
    }

    /// <inheritdoc />
    public async ValueTask<DeliveryResult> SendAsync(OutboundDelivery delivery, CancellationToken cancellationToken)
    {
        if (options.Value.ReplyUrl is not { } url)
        {
            return DeliveryResult.Failed("ReplyUrl is not configured.");
        }

        var body = JsonSerializer.SerializeToUtf8Bytes(new { user = delivery.Recipient.PlatformUserId, text = delivery.Message.Content }, JsonSerializerOptions.Web);
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Headers.TryAddWithoutValidation("X-Signature", Sign(options.Value.Secret, body));
        try
        {
            using var response = await http.CreateClient().SendAsync(request, cancellationToken);
            return response.IsSuccessStatusCode ? DeliveryResult.Sent()
                : (int)response.StatusCode >= 500 ? DeliveryResult.Retry($"The platform answered {(int)response.StatusCode}.")
                : DeliveryResult.Failed($"The platform refused the reply: {(int)response.StatusCode}.");
        }
        catch (HttpRequestException ex)
        {
            return DeliveryResult.Retry(ex.Message);
        }
    }

    private sealed record Push(string? Id, string? User, string? Text);
}
