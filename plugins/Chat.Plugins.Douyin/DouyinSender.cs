using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chat.Plugins.Shared;
using Microsoft.Extensions.Options;

namespace Chat.Plugins.Douyin;

/// <summary>A non-zero <c>data.error_code</c> from the Douyin API.</summary>
internal sealed class DouyinApiException(long errorCode, string? description)
    : Exception($"error_code {errorCode}: {description}")
{
    public long ErrorCode { get; } = errorCode;
}

/// <summary>The client token (<c>/oauth/client_token/</c>, cached, one refresh at a time) and <c>/im/send/msg/</c>.</summary>
internal sealed class DouyinApi
{
    private readonly DouyinOptions _options;
    private readonly IHttpClientFactory _http;

    public DouyinApi(IOptions<DouyinOptions> options, IHttpClientFactory http, TimeProvider time)
    {
        _options = options.Value;
        _options.Validate();
        _http = http;
        Tokens = new AccessTokenCache(FetchTokenAsync, time, _options.TokenRefreshMargin);
    }

    public AccessTokenCache Tokens { get; }

    /// <summary>Sends one reply; returns the platform's message id when it gives one.</summary>
    public async Task<string?> SendAsync(string token, JsonObject body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post,
            PlatformHttp.Combine(_options.ApiBaseAddress, "im/send/msg/?open_id=" + Uri.EscapeDataString(_options.AccountOpenId)))
        {
            Content = JsonContent.Create(body),
        };
        request.Headers.TryAddWithoutValidation("access-token", token);
        using var response = await _http.CreateClient(nameof(DouyinApi)).SendAsync(request, cancellationToken).ConfigureAwait(false);
        var data = await DataAsync(response, cancellationToken).ConfigureAwait(false);
        return data["msg_id"]?.ToString();
    }

    private async Task<(string, TimeSpan)> FetchTokenAsync(CancellationToken cancellationToken)
    {
        using var response = await _http.CreateClient(nameof(DouyinApi)).PostAsync(PlatformHttp.Combine(_options.ApiBaseAddress, "oauth/client_token/"),
            JsonContent.Create(new JsonObject
            {
                ["client_key"] = _options.ClientKey,
                ["client_secret"] = _options.ClientSecret,
                ["grant_type"] = "client_credential",
            }), cancellationToken).ConfigureAwait(false);
        var data = await DataAsync(response, cancellationToken).ConfigureAwait(false);
        var token = data["access_token"]?.ToString();
        var expiresIn = data["expires_in"] is JsonValue v && v.TryGetValue<long>(out var seconds) ? seconds : 0;
        return string.IsNullOrEmpty(token) || expiresIn <= 0
            ? throw new InvalidDataException("The token endpoint answered without data.access_token and data.expires_in.")
            : (token, TimeSpan.FromSeconds(expiresIn));
    }

    private static async Task<JsonObject> DataAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var json = await PlatformHttp.ReadObjectAsync(response, "Douyin", cancellationToken).ConfigureAwait(false);
        if (json["data"] is not JsonObject data)
        {
            throw new InvalidDataException("Douyin answered without a data object.");
        }

        var code = data["error_code"] is JsonValue value && value.TryGetValue<long>(out var c) ? c : 0;
        return code == 0 ? data : throw new DouyinApiException(code, data["description"]?.ToString());
    }
}

/// <summary>
/// Delivers agents' replies, quoting the customer's latest message (its <c>server_message_id</c> and
/// <c>conversation_short_id</c>, stored with it). Token errors refresh the token and retry once; the configured transient
/// codes, HTTP and network errors are retried; any other error (an expired <c>msg_id</c>, for example) ends the delivery
/// with Douyin's description for the agent.
/// </summary>
internal sealed class DouyinSender(IOptions<DouyinOptions> options, DouyinApi api) : IChannelSender
{
    public string ChannelId => options.Value.ChannelId;

    public async ValueTask<DeliveryResult> SendAsync(OutboundDelivery delivery, CancellationToken cancellationToken)
    {
        var o = options.Value;
        if (delivery.Message.Kind != MessageKind.Text)
        {
            return DeliveryResult.Failed($"This channel sends text replies only; a {delivery.Message.Kind} needs an uploaded media id.");
        }

        var quoted = delivery.InReplyTo?.Metadata;
        if (quoted is null || !quoted.TryGetValue(DouyinWebhookHandler.ServerMessageKey, out var msgId)
            || !quoted.TryGetValue(DouyinWebhookHandler.ConversationKey, out var conversation))
        {
            return DeliveryResult.Failed("Douyin replies must answer a customer message, and this conversation has none to answer.");
        }

        var body = new JsonObject
        {
            ["msg_id"] = msgId,
            ["conversation_id"] = conversation,
            ["to_user_id"] = delivery.Recipient.PlatformUserId,
            ["content"] = new JsonObject { ["msg_type"] = 1, ["text"] = new JsonObject { ["text"] = delivery.Message.Content } },
            ["scene"] = "im_replay_msg",
        };

        try
        {
            return DeliveryResult.Sent(await PlatformHttp.WithTokenAsync(api.Tokens, (token, ct) => api.SendAsync(token, body, ct),
                ex => ex is DouyinApiException refused && o.TokenErrorCodes.Contains(refused.ErrorCode), cancellationToken).ConfigureAwait(false));
        }
        catch (DouyinApiException ex)
        {
            return o.RetryErrorCodes.Contains(ex.ErrorCode) || o.TokenErrorCodes.Contains(ex.ErrorCode)
                ? DeliveryResult.Retry(ex.Message)
                : DeliveryResult.Failed(ex.Message);
        }
        catch (Exception ex) when (ex is HttpRequestException or InvalidDataException)
        {
            return DeliveryResult.Retry(ex.Message);
        }
    }
}
