using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chat.Plugins.Shared;
using Microsoft.Extensions.Options;

namespace Chat.Plugins.WeChatMiniProgram;

/// <summary>An error the WeChat API answered with (<c>errcode</c>, <c>errmsg</c>).</summary>
internal sealed class WeChatApiException(int errorCode, string? errorMessage)
    : Exception($"errcode {errorCode}: {errorMessage}")
{
    public int ErrorCode { get; } = errorCode;
}

/// <summary>The two calls the channel makes: the access token (cached, one refresh at a time) and <c>custom/send</c>.</summary>
internal sealed class WeChatApi
{
    private readonly WeChatMiniProgramOptions _options;
    private readonly IHttpClientFactory _http;

    public WeChatApi(IOptions<WeChatMiniProgramOptions> options, IHttpClientFactory http, TimeProvider time)
    {
        _options = options.Value;
        _http = http;
        Tokens = new AccessTokenCache(FetchTokenAsync, time, _options.TokenRefreshMargin);
    }

    public AccessTokenCache Tokens { get; }

    /// <summary>Posts one customer-service message; throws <see cref="WeChatApiException"/> on a non-zero errcode.</summary>
    public async Task SendAsync(string accessToken, JsonObject body, CancellationToken cancellationToken)
    {
        var client = _http.CreateClient(nameof(WeChatApi));
        var uri = PlatformHttp.Combine(_options.ApiBaseAddress, "cgi-bin/message/custom/send?access_token=" + Uri.EscapeDataString(accessToken));
        using var response = await client.PostAsync(uri, JsonContent.Create(body), cancellationToken).ConfigureAwait(false);
        await ThrowOnErrorAsync(response, cancellationToken).ConfigureAwait(false);
    }

    private async Task<(string, TimeSpan)> FetchTokenAsync(CancellationToken cancellationToken)
    {
        var client = _http.CreateClient(nameof(WeChatApi));
        using var response = _options.UseStableToken
            ? await client.PostAsync(PlatformHttp.Combine(_options.ApiBaseAddress, "cgi-bin/stable_token"), JsonContent.Create(new JsonObject
            {
                ["grant_type"] = "client_credential",
                ["appid"] = _options.AppId,
                ["secret"] = _options.AppSecret,
                ["force_refresh"] = false,
            }), cancellationToken).ConfigureAwait(false)
            : await client.GetAsync(PlatformHttp.Combine(_options.ApiBaseAddress,
                $"cgi-bin/token?grant_type=client_credential&appid={Uri.EscapeDataString(_options.AppId)}&secret={Uri.EscapeDataString(_options.AppSecret)}"), cancellationToken).ConfigureAwait(false);
        var json = await ThrowOnErrorAsync(response, cancellationToken).ConfigureAwait(false);
        var token = json["access_token"]?.GetValue<string>();
        var expiresIn = json["expires_in"]?.GetValue<int>() ?? 0;
        if (string.IsNullOrEmpty(token) || expiresIn <= 0)
        {
            throw new InvalidDataException("The token endpoint answered without access_token and expires_in.");
        }

        return (token, TimeSpan.FromSeconds(expiresIn));
    }

    private static async Task<JsonObject> ThrowOnErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var json = await PlatformHttp.ReadObjectAsync(response, "WeChat", cancellationToken).ConfigureAwait(false);
        var code = json["errcode"] is JsonValue value && value.TryGetValue<int>(out var c) ? c : 0;
        return code == 0 ? json : throw new WeChatApiException(code, json["errmsg"]?.ToString());
    }
}

/// <summary>
/// Delivers agents' replies as customer-service messages. Tokens expired or revoked (40001, 42001) are refreshed and
/// the send retried once; a closed 48-hour window (45015), a used-up quota (45047) and a missing API permission
/// (48001) end the delivery with a reason for the agent; "system busy" (-1), HTTP and network errors are retried.
/// </summary>
internal sealed class WeChatSender(IOptions<WeChatMiniProgramOptions> options, WeChatApi api) : IChannelSender
{
    public string ChannelId => options.Value.ChannelId;

    public async ValueTask<DeliveryResult> SendAsync(OutboundDelivery delivery, CancellationToken cancellationToken)
    {
        JsonObject body;
        try
        {
            body = Body(delivery);
        }
        catch (NotSupportedException ex)
        {
            return DeliveryResult.Failed(ex.Message);
        }

        try
        {
            await PlatformHttp.WithTokenAsync(api.Tokens, async (token, ct) =>
            {
                await api.SendAsync(token, body, ct).ConfigureAwait(false);
                return true;
            }, static ex => ex is WeChatApiException { ErrorCode: 40001 or 42001 }, cancellationToken).ConfigureAwait(false);
            return DeliveryResult.Sent();
        }
        catch (WeChatApiException ex)
        {
            return ex.ErrorCode switch
            {
                45015 => DeliveryResult.Failed("45015: the customer's 48-hour reply window is closed; the customer must write first."),
                45047 => DeliveryResult.Failed("45047: the reply quota for this customer is used up (5 replies per customer message)."),
                48001 => DeliveryResult.Failed("48001: this mini-program is not authorised for the customer-service message API."),
                -1 => DeliveryResult.Retry("-1: WeChat is busy."),
                40001 or 42001 => DeliveryResult.Retry($"{ex.ErrorCode}: the access token was refused again after a refresh."),
                _ => DeliveryResult.Failed(ex.Message + " (check AppId and AppSecret if it came from the token endpoint)"),
            };
        }
        catch (Exception ex) when (ex is HttpRequestException or InvalidDataException)
        {
            return DeliveryResult.Retry(ex.Message);
        }
    }

    /// <summary>The <c>custom/send</c> body for a stored message.</summary>
    internal static JsonObject Body(OutboundDelivery delivery)
    {
        var message = delivery.Message;
        var body = new JsonObject { ["touser"] = delivery.Recipient.PlatformUserId };
        switch (message.Kind)
        {
            case MessageKind.Text:
                body["msgtype"] = "text";
                body["text"] = new JsonObject { ["content"] = message.Content };
                return body;
            case MessageKind.Image when !message.Content.Contains("://", StringComparison.Ordinal):
                body["msgtype"] = "image";
                body["image"] = new JsonObject { ["media_id"] = message.Content };
                return body;
            case MessageKind.Image:
                throw new NotSupportedException("WeChat sends images by media id; upload the image as temporary media first.");
            case MessageKind.Card:
                JsonObject card;
                try
                {
                    card = JsonNode.Parse(message.Content) as JsonObject ?? throw new NotSupportedException("A WeChat card must be a JSON object.");
                }
                catch (JsonException)
                {
                    throw new NotSupportedException("A WeChat card must be a JSON object.");
                }

                var type = card["msgtype"]?.ToString();
                if (type is not ("link" or "miniprogrampage") || card[type] is not JsonObject fields)
                {
                    throw new NotSupportedException("A WeChat card is {\"msgtype\":\"link\",\"link\":{...}} or {\"msgtype\":\"miniprogrampage\",\"miniprogrampage\":{...}}.");
                }

                body["msgtype"] = type;
                body[type] = fields.DeepClone();
                return body;
            default:
                throw new NotSupportedException(string.Create(CultureInfo.InvariantCulture, $"WeChat customer-service messages cannot carry a {message.Kind} message."));
        }
    }
}
