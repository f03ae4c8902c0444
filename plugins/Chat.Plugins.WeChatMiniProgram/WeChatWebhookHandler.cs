using System.Globalization;
using System.Text.Json;
using Chat.Plugins.Shared;
using Microsoft.Extensions.Options;

namespace Chat.Plugins.WeChatMiniProgram;

/// <summary>
/// The message-push endpoint: URL verification (GET), and pushes (POST) in plain, compatible and safe modes, JSON or
/// XML. Signatures are checked before anything is decrypted or parsed; the AppID inside every decrypted push must be
/// this mini-program's; the previous EncodingAESKey still decrypts during a rotation.
/// </summary>
internal sealed class WeChatWebhookHandler : IWebhookHandler
{
    private const long MaxUnixSeconds = 253_402_300_799; // 9999-12-31
    private readonly WeChatMiniProgramOptions _options;
    private readonly byte[]? _key;
    private readonly byte[]? _previousKey;

    public WeChatWebhookHandler(IOptions<WeChatMiniProgramOptions> options)
    {
        _options = options.Value;
        _options.Validate();
        _key = _options.EncodingAesKey is { } key ? WeChatCrypto.DecodeKey(key, nameof(_options.EncodingAesKey)) : null;
        _previousKey = _options.PreviousEncodingAesKey is { } previous ? WeChatCrypto.DecodeKey(previous, nameof(_options.PreviousEncodingAesKey)) : null;
    }

    public string ChannelId => _options.ChannelId;

    public ValueTask<WebhookResult> HandleAsync(WebhookRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult(request.Method switch
        {
            "GET" => Verify(request),
            "POST" => Receive(request),
            _ => PluginResponses.MethodNotAllowed(request.Method),
        });

    private WebhookResult Verify(WebhookRequest request)
    {
        if (!UrlSignatureValid(request))
        {
            return PluginResponses.Unauthorized("The signature does not match the Token.");
        }

        return request.GetQuery("echostr") is { } echo
            ? WebhookResult.ReplyOnly(WebhookResponse.Text(200, echo))
            : PluginResponses.BadRequest("echostr is missing.");
    }

    private bool UrlSignatureValid(WebhookRequest request)
    {
        var (timestamp, nonce) = (request.GetQuery("timestamp"), request.GetQuery("nonce"));
        return timestamp is not null && nonce is not null
            && Signatures.HexEquals(request.GetQuery("signature"), WeChatCrypto.Signature(_options.Token, timestamp, nonce));
    }

    private WebhookResult Receive(WebhookRequest request)
    {
        var encryptType = request.GetQuery("encrypt_type");
        var encrypted = string.Equals(encryptType, "aes", StringComparison.OrdinalIgnoreCase);
        if (!encrypted && encryptType is not null && !string.Equals(encryptType, "raw", StringComparison.OrdinalIgnoreCase))
        {
            return PluginResponses.BadRequest($"encrypt_type '{encryptType}' is not supported; expected 'aes' or 'raw'.");
        }

        if (!encrypted)
        {
            if (!UrlSignatureValid(request))
            {
                return PluginResponses.Unauthorized("The signature does not match the Token.");
            }

            return Parse(request.Body.Span, out var plain, out var error) ? Normalise(plain!) : PluginResponses.BadRequest(error!);
        }

        var (timestamp, nonce, msgSignature) = (request.GetQuery("timestamp"), request.GetQuery("nonce"), request.GetQuery("msg_signature"));
        if (timestamp is null || nonce is null || msgSignature is null)
        {
            return PluginResponses.Unauthorized("timestamp, nonce and msg_signature are required for an encrypted push.");
        }

        if (!Parse(request.Body.Span, out var envelope, out var envelopeError))
        {
            return PluginResponses.BadRequest(envelopeError!);
        }

        var encrypt = envelope!["Encrypt"];
        if (string.IsNullOrEmpty(encrypt))
        {
            return PluginResponses.BadRequest("Encrypt is missing from the encrypted push.");
        }

        // The signature covers the ciphertext: check it before decrypting anything.
        if (!Signatures.HexEquals(msgSignature, WeChatCrypto.Signature(_options.Token, timestamp, nonce, encrypt)))
        {
            return PluginResponses.Unauthorized("msg_signature does not match the Token and Encrypt.");
        }

        if (_key is null)
        {
            return PluginResponses.BadRequest("The push is encrypted but no EncodingAESKey is configured.");
        }

        if (!TryDecrypt(encrypt, out var message, out var decryptError))
        {
            return PluginResponses.BadRequest(decryptError!);
        }

        return Parse(System.Text.Encoding.UTF8.GetBytes(message!), out var inner, out var innerError)
            ? Normalise(inner!)
            : PluginResponses.BadRequest("The decrypted push: " + innerError);
    }

    private bool TryDecrypt(string encrypt, out string? message, out string? error)
    {
        (message, error) = (null, null);
        foreach (var key in _previousKey is null ? [_key!] : new[] { _key!, _previousKey })
        {
            try
            {
                var (text, appId) = WeChatCrypto.Decrypt(encrypt, key);
                if (!string.Equals(appId, _options.AppId, StringComparison.Ordinal))
                {
                    error = $"The push is for AppID '{Truncate(appId)}', not this mini-program's.";
                    continue;
                }

                message = text;
                return true;
            }
            catch (FormatException ex)
            {
                error ??= "Could not decrypt the push: " + ex.Message;
            }
        }

        return false;
    }

    private static bool Parse(ReadOnlySpan<byte> body, out WeChatPush? push, out string? error)
    {
        try
        {
            (push, error) = (WeChatPush.Parse(body), null);
            return true;
        }
        catch (FormatException ex)
        {
            (push, error) = (null, ex.Message);
            return false;
        }
    }

    private WebhookResult Normalise(WeChatPush push)
    {
        var from = push["FromUserName"];
        var type = push["MsgType"];
        if (string.IsNullOrEmpty(from) || string.IsNullOrEmpty(type))
        {
            return PluginResponses.BadRequest("FromUserName and MsgType are required.");
        }

        if (!long.TryParse(push["CreateTime"], NumberStyles.None, CultureInfo.InvariantCulture, out var createTime) || createTime > MaxUnixSeconds)
        {
            return PluginResponses.BadRequest("CreateTime is missing or not a number.");
        }

        var msgId = push["MsgId"];
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { ["wechat.to_user"] = push["ToUserName"] ?? string.Empty };
        InboundMessage? message = type switch
        {
            "text" => Message(MessageKind.Text, push["Content"]),
            "image" => Message(MessageKind.Image, push["PicUrl"], ("wechat.media_id", push["MediaId"])),
            "miniprogrampage" => Message(MessageKind.Card, JsonSerializer.Serialize(new Dictionary<string, string?>
            {
                ["type"] = "miniprogrampage",
                ["title"] = push["Title"],
                ["appId"] = push["AppId"],
                ["pagePath"] = push["PagePath"],
                ["thumbUrl"] = push["ThumbUrl"],
                ["thumbMediaId"] = push["ThumbMediaId"],
            })),
            "event" when push["Event"] == "user_enter_tempsession" => new InboundMessage
            {
                TenantId = _options.TenantId,
                PlatformUserId = from,
                PlatformMessageId = $"event:{from}:{createTime.ToString(CultureInfo.InvariantCulture)}", // events carry no MsgId
                Kind = MessageKind.Event,
                Content = JsonSerializer.Serialize(new Dictionary<string, string?> { ["type"] = "user_enter_tempsession", ["sessionFrom"] = push["SessionFrom"] }),
                PlatformTimestamp = DateTimeOffset.FromUnixTimeSeconds(createTime),
                Metadata = metadata,
            },
            _ => null,
        };

        if (message is null)
        {
            return PluginResponses.BadRequest(type == "event"
                ? $"Event '{Truncate(push["Event"] ?? string.Empty)}' is not handled by this channel."
                : $"MsgType '{Truncate(type)}' is not handled by this channel.");
        }

        if (message.PlatformMessageId.Length == 0 || string.IsNullOrEmpty(message.Content))
        {
            return PluginResponses.BadRequest($"A '{type}' push needs MsgId and its content fields.");
        }

        return new WebhookResult(WebhookResponse.Text(200, "success"), [message]);

        InboundMessage Message(MessageKind kind, string? content, (string Key, string? Value) extra = default)
        {
            if (extra.Key is not null && !string.IsNullOrEmpty(extra.Value))
            {
                metadata[extra.Key] = extra.Value;
            }

            return new InboundMessage
            {
                TenantId = _options.TenantId,
                PlatformUserId = from,
                PlatformMessageId = msgId ?? string.Empty,
                Kind = kind,
                Content = content ?? string.Empty,
                PlatformTimestamp = DateTimeOffset.FromUnixTimeSeconds(createTime),
                Metadata = metadata,
            };
        }
    }

    private static string Truncate(string value) => value.Length <= 64 ? value : value[..64] + "...";
}
