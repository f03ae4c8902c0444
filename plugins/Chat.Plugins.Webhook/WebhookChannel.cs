using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Chat.Plugins.Shared;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Chat.Plugins.Webhook;

/// <summary>
/// The generic signed-HTTP channel (docs/channels/webhook.md). Both directions carry <c>X-Chat-Timestamp</c> (unix
/// seconds) and <c>X-Chat-Signature: v1=hex(HMAC-SHA256(secret, timestamp + "." + body))</c>; requests whose timestamp
/// is further from now than the tolerance are refused, and a replayed message id is stored once.
/// </summary>
internal sealed class WebhookChannel : IWebhookHandler, IChannelSender
{
    public const string TimestampHeader = "X-Chat-Timestamp";
    public const string SignatureHeader = "X-Chat-Signature";
    public const string DeliveryHeader = "X-Chat-Delivery-Id";
    private const int MaxIdLength = 128;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false) },
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
        MaxDepth = 16,
    };

    private readonly WebhookChannelOptions _options;
    private readonly IHttpClientFactory _http;
    private readonly TimeProvider _time;

    public WebhookChannel(IOptions<WebhookChannelOptions> options, IHttpClientFactory http, TimeProvider time)
    {
        _options = options.Value;
        _options.Validate();
        _http = http;
        _time = time;
    }

    public string ChannelId => _options.ChannelId;

    /// <summary>The signature header's value for a body sent at a time.</summary>
    public static string Sign(string secret, string timestamp, ReadOnlySpan<byte> body)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(secret));
        hmac.AppendData(Encoding.UTF8.GetBytes(timestamp + "."));
        hmac.AppendData(body);
        return "v1=" + Convert.ToHexStringLower(hmac.GetHashAndReset());
    }

    public ValueTask<WebhookResult> HandleAsync(WebhookRequest request, CancellationToken cancellationToken)
    {
        if (request.Method != "POST")
        {
            return ValueTask.FromResult(PluginResponses.MethodNotAllowed(request.Method));
        }

        var timestamp = request.GetHeader(TimestampHeader);
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return ValueTask.FromResult(PluginResponses.Unauthorized($"{TimestampHeader} is missing or not unix seconds."));
        }

        var skew = Math.Abs(_time.GetUtcNow().ToUnixTimeSeconds() - seconds);
        if (skew > _options.TimestampTolerance.TotalSeconds)
        {
            return ValueTask.FromResult(PluginResponses.Unauthorized($"{TimestampHeader} is {skew} s from now; at most {_options.TimestampTolerance.TotalSeconds:0} s is accepted."));
        }

        var given = request.GetHeader(SignatureHeader);
        var valid = Signatures.HexEquals(given, Sign(_options.Secret, timestamp!, request.Body.Span))
                    || (_options.PreviousSecret is { } previous && Signatures.HexEquals(given, Sign(previous, timestamp!, request.Body.Span)));
        if (!valid)
        {
            return ValueTask.FromResult(PluginResponses.Unauthorized($"{SignatureHeader} is missing or does not match the timestamp and body."));
        }

        if (!System.Text.Unicode.Utf8.IsValid(request.Body.Span))
        {
            return ValueTask.FromResult(PluginResponses.BadRequest("The body is not valid UTF-8."));
        }

        InboundPayload? payload;
        try
        {
            payload = JsonSerializer.Deserialize<InboundPayload>(request.Body.Span, Json);
        }
        catch (JsonException ex)
        {
            return ValueTask.FromResult(PluginResponses.BadRequest("Malformed JSON: " + ex.Message));
        }

        if (payload is null)
        {
            return ValueTask.FromResult(PluginResponses.BadRequest("The body is empty."));
        }

        if (payload.Validate() is { } error)
        {
            return ValueTask.FromResult(PluginResponses.BadRequest(error));
        }

        var message = new InboundMessage
        {
            TenantId = _options.TenantId,
            PlatformUserId = payload.UserId!,
            PlatformMessageId = payload.Id!,
            DisplayName = payload.UserName,
            Kind = payload.Kind,
            Content = payload.Content!,
            PlatformTimestamp = payload.Timestamp,
            // The framework's own keys (chat.*) are not the platform's to set.
            Metadata = (payload.Metadata ?? []).Where(static m => !m.Key.StartsWith("chat.", StringComparison.Ordinal)).ToDictionary(StringComparer.Ordinal),
        };
        return ValueTask.FromResult(new WebhookResult(WebhookResponse.Json(200, "{\"accepted\":true}"), [message]));
    }

    public async ValueTask<DeliveryResult> SendAsync(OutboundDelivery delivery, CancellationToken cancellationToken)
    {
        if (_options.OutboundUrl is null)
        {
            return DeliveryResult.Failed("Chat:Plugins:webhook:OutboundUrl is not set, so replies cannot be delivered.");
        }

        var message = delivery.Message;
        var body = JsonSerializer.SerializeToUtf8Bytes(new OutboundPayload(
            message.Id.ToString(CultureInfo.InvariantCulture),
            message.ConversationId.ToString(CultureInfo.InvariantCulture),
            delivery.Recipient.PlatformUserId,
            message.Kind,
            message.Content,
            new OutboundAgent(message.Sender.Id, message.Sender.DisplayName),
            message.CreatedAt,
            delivery.Attempt), Json);
        var timestamp = _time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, _options.OutboundUrl) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.TryAddWithoutValidation(TimestampHeader, timestamp);
        request.Headers.TryAddWithoutValidation(SignatureHeader, Sign(_options.Secret, timestamp, body));
        request.Headers.TryAddWithoutValidation(DeliveryHeader, message.Id.ToString(CultureInfo.InvariantCulture));
        try
        {
            using var response = await _http.CreateClient(nameof(WebhookChannel)).SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                return DeliveryResult.Sent(await PlatformIdAsync(response, cancellationToken).ConfigureAwait(false));
            }

            var reason = $"{(int)response.StatusCode} {response.ReasonPhrase}: {await ExcerptAsync(response, cancellationToken).ConfigureAwait(false)}";
            var retryAfter = response.Headers.RetryAfter?.Delta;
            return response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout || (int)response.StatusCode >= 500
                ? DeliveryResult.Retry(reason, retryAfter)
                : DeliveryResult.Failed(reason);
        }
        catch (HttpRequestException ex)
        {
            return DeliveryResult.Retry("The platform could not be reached: " + ex.Message);
        }
    }

    private static async Task<string?> PlatformIdAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            if (bytes.Length == 0)
            {
                return null;
            }

            using var json = JsonDocument.Parse(bytes);
            return json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("id", out var id) ? id.ToString() : null;
        }
        catch (JsonException)
        {
            return null; // the platform took it; its answer just carries no id
        }
    }

    private static async Task<string> ExcerptAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        return text.Length <= 200 ? text : text[..200] + "...";
    }

    /// <summary>The documented inbound message.</summary>
    internal sealed record InboundPayload
    {
        public string? Id { get; init; }

        public string? UserId { get; init; }

        public string? UserName { get; init; }

        public MessageKind Kind { get; init; } = MessageKind.Text;

        public string? Content { get; init; }

        public DateTimeOffset? Timestamp { get; init; }

        public Dictionary<string, string>? Metadata { get; init; }

        public string? Validate()
        {
            if (string.IsNullOrWhiteSpace(Id) || Id.Length > MaxIdLength)
            {
                return $"id is required and at most {MaxIdLength} characters.";
            }

            if (string.IsNullOrWhiteSpace(UserId) || UserId.Length > MaxIdLength)
            {
                return $"userId is required and at most {MaxIdLength} characters.";
            }

            if (string.IsNullOrEmpty(Content))
            {
                return "content is required.";
            }

            if (Kind is not (MessageKind.Text or MessageKind.Image or MessageKind.File or MessageKind.Card))
            {
                return "kind must be text, image, file or card.";
            }

            return Metadata is { Count: > 32 } ? "metadata has more than 32 entries." : null;
        }
    }

    /// <summary>The documented outbound message.</summary>
    internal sealed record OutboundPayload(string Id, string ConversationId, string UserId, MessageKind Kind, string Content, OutboundAgent Agent, DateTimeOffset CreatedAt, int Attempt);

    /// <summary>Who wrote the reply.</summary>
    internal sealed record OutboundAgent(string Id, string? Name);
}

/// <summary>Binds the options from the plugin's configuration section.</summary>
internal sealed class WebhookStartup : IPluginStartup
{
    public void ConfigureServices(PluginStartupContext context, IServiceCollection services) =>
        services.Configure<WebhookChannelOptions>(context.Configuration);
}
