using System.Text;
using System.Text.Json;
using Chat.Plugins.Shared;
using Chat.Protocol;
using Microsoft.Extensions.Options;

namespace Chat.Plugins.Douyin;

/// <summary>
/// The event subscription endpoint: <c>X-Douyin-Signature</c> (SHA-1 of client_secret and the raw body) checked in
/// constant time before anything is parsed; <c>verify_webhook</c> answered with its challenge; customer messages,
/// chat entries and recalls normalised; our own API sends (<c>content.source</c> = our client_key) skipped.
/// </summary>
internal sealed class DouyinWebhookHandler : IWebhookHandler
{
    internal const string ConversationKey = "douyin.conversation_short_id";
    internal const string ServerMessageKey = "douyin.server_message_id";
    private readonly DouyinOptions _options;

    public DouyinWebhookHandler(IOptions<DouyinOptions> options)
    {
        _options = options.Value;
        _options.Validate();
    }

    public string ChannelId => _options.ChannelId;

    /// <summary><c>lowercase_hex(SHA1(client_secret + raw_body))</c>.</summary>
    public static string Sign(string clientSecret, ReadOnlySpan<byte> body)
    {
        var secret = Encoding.UTF8.GetBytes(clientSecret);
        var data = new byte[secret.Length + body.Length];
        secret.CopyTo(data, 0);
        body.CopyTo(data.AsSpan(secret.Length));
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData(data));
    }

    public ValueTask<WebhookResult> HandleAsync(WebhookRequest request, CancellationToken cancellationToken)
    {
        if (request.Method != "POST")
        {
            return ValueTask.FromResult(PluginResponses.MethodNotAllowed(request.Method));
        }

        if (!Signatures.HexEquals(request.GetHeader("X-Douyin-Signature"), Sign(_options.ClientSecret, request.Body.Span)))
        {
            return ValueTask.FromResult(PluginResponses.Unauthorized("X-Douyin-Signature is missing or does not match the body."));
        }

        if (!System.Text.Unicode.Utf8.IsValid(request.Body.Span))
        {
            return ValueTask.FromResult(PluginResponses.BadRequest("The body is not valid UTF-8."));
        }

        try
        {
            using var json = JsonDocument.Parse(request.Body, new JsonDocumentOptions { MaxDepth = 16 });
            return ValueTask.FromResult(Handle(json.RootElement, request.GetHeader("Msg-Id")));
        }
        catch (JsonException ex)
        {
            return ValueTask.FromResult(PluginResponses.BadRequest("Malformed JSON: " + ex.Message));
        }
    }

    private WebhookResult Handle(JsonElement root, string? pushId)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return PluginResponses.BadRequest("The body is not a JSON object.");
        }

        var eventName = String(root, "event");
        if (eventName is null)
        {
            return PluginResponses.BadRequest("event is missing.");
        }

        var clientKey = String(root, "client_key");
        if (clientKey is not null && !string.Equals(clientKey, _options.ClientKey, StringComparison.Ordinal))
        {
            return PluginResponses.BadRequest("client_key is not this application's.");
        }

        // content is an object, or the same object as a JSON-encoded string.
        JsonDocument? parsedContent = null;
        try
        {
            var content = root.TryGetProperty("content", out var c) ? c : default;
            if (content.ValueKind == JsonValueKind.String)
            {
                parsedContent = JsonDocument.Parse(content.GetString()!, new JsonDocumentOptions { MaxDepth = 16 });
                content = parsedContent.RootElement;
            }

            if (content.ValueKind is not (JsonValueKind.Object or JsonValueKind.Undefined))
            {
                return PluginResponses.BadRequest("content is neither an object nor a JSON string of one.");
            }

            return eventName switch
            {
                "verify_webhook" => Challenge(content),
                "im_receive_msg" => Receive(root, content, pushId),
                "im_enter_direct_msg" => Event(root, content, pushId, "enter_direct_msg", recalls: null),
                "im_recall_msg" => String(content, "server_message_id") is { } recalled
                    ? Event(root, content, pushId, "recall", recalled)
                    : PluginResponses.BadRequest("im_recall_msg needs content.server_message_id."),
                "im_send_msg" or "authorize" or "unauthorize" => Acknowledge(),
                _ => PluginResponses.BadRequest($"Event '{Truncate(eventName)}' is not handled by this channel."),
            };
        }
        catch (JsonException ex)
        {
            return PluginResponses.BadRequest("content is not valid JSON: " + ex.Message);
        }
        finally
        {
            parsedContent?.Dispose();
        }
    }

    private static WebhookResult Challenge(JsonElement content)
    {
        if (content.ValueKind != JsonValueKind.Object || !content.TryGetProperty("challenge", out var challenge)
            || challenge.ValueKind is not (JsonValueKind.Number or JsonValueKind.String))
        {
            return PluginResponses.BadRequest("verify_webhook needs content.challenge.");
        }

        return WebhookResult.ReplyOnly(WebhookResponse.Json(200, "{\"challenge\":" + challenge.GetRawText() + "}"));
    }

    /// <summary>
    /// im_send_msg are the account's own messages (our API sends come back with <c>source</c> = our client_key): they
    /// are acknowledged and not stored as customer messages. authorize/unauthorize need no message either.
    /// </summary>
    private static WebhookResult Acknowledge() => WebhookResult.ReplyOnly(WebhookResponse.Text(200, "success"));

    private WebhookResult Receive(JsonElement root, JsonElement content, string? pushId)
    {
        if (content.ValueKind != JsonValueKind.Object)
        {
            return PluginResponses.BadRequest("im_receive_msg needs a content object.");
        }

        var type = String(content, "message_type") ?? "other";
        var (kind, text) = type switch
        {
            "text" => (MessageKind.Text, String(content, "text")),
            _ => (MessageKind.Card, JsonSerializer.Serialize(new Dictionary<string, object?> { ["type"] = "douyin." + type, ["content"] = content })),
        };
        if (string.IsNullOrEmpty(text))
        {
            return PluginResponses.BadRequest("A text message needs content.text.");
        }

        return Message(root, content, pushId, kind, text, recalls: null);
    }

    private WebhookResult Event(JsonElement root, JsonElement content, string? pushId, string what, string? recalls) =>
        Message(root, content, pushId, MessageKind.Event, JsonSerializer.Serialize(new Dictionary<string, string?> { ["type"] = what, ["serverMessageId"] = recalls }), recalls);

    private WebhookResult Message(JsonElement root, JsonElement content, string? pushId, MessageKind kind, string text, string? recalls)
    {
        var from = String(root, "from_user_id");
        if (string.IsNullOrEmpty(from))
        {
            return PluginResponses.BadRequest("from_user_id is missing.");
        }

        var serverMessageId = content.ValueKind == JsonValueKind.Object ? String(content, "server_message_id") : null;
        var id = pushId ?? (recalls is null ? serverMessageId : null) ?? String(root, "log_id");
        if (string.IsNullOrEmpty(id))
        {
            return PluginResponses.BadRequest("The push has no Msg-Id header, server_message_id or log_id to dedupe it by.");
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (content.ValueKind == JsonValueKind.Object && String(content, "conversation_short_id") is { } conversation)
        {
            metadata[ConversationKey] = conversation;
        }

        if (serverMessageId is not null && recalls is null)
        {
            metadata[ServerMessageKey] = serverMessageId;
            metadata[MessageMetadataKeys.PlatformMessageKey] = serverMessageId;
        }

        if (recalls is not null)
        {
            metadata[MessageMetadataKeys.Recalls] = recalls;
        }

        DateTimeOffset? sent = null;
        if (content.ValueKind == JsonValueKind.Object && content.TryGetProperty("create_time", out var created) && created.TryGetInt64(out var ms) && ms is > 0 and < 253_402_300_799_000)
        {
            sent = DateTimeOffset.FromUnixTimeMilliseconds(ms);
        }

        return new WebhookResult(WebhookResponse.Text(200, "success"),
        [
            new InboundMessage
            {
                TenantId = _options.TenantId,
                PlatformUserId = from,
                PlatformMessageId = id,
                Kind = kind,
                Content = text,
                DisplayName = NickName(content, from),
                PlatformTimestamp = sent,
                Metadata = metadata,
            },
        ]);
    }

    private static string? NickName(JsonElement content, string openId)
    {
        if (content.ValueKind != JsonValueKind.Object || !content.TryGetProperty("user_infos", out var users) || users.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        foreach (var user in users.EnumerateArray())
        {
            if (user.ValueKind == JsonValueKind.Object && String(user, "open_id") == openId)
            {
                return String(user, "nick_name");
            }
        }

        return null;
    }

    private static string? String(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => value.GetRawText(),
            _ => null,
        } : null;

    private static string Truncate(string value) => value.Length <= 64 ? value : value[..64] + "...";
}
