using System.Text;
using System.Text.Json.Nodes;
using Chat.Plugins.Douyin;
using Chat.Plugins.Tests.Infrastructure;
using Chat.Protocol;

namespace Chat.Plugins.Tests;

/// <summary>The vector of shared/protocols/douyin.md, the webhook's events and bad input, and the sender against a fake Douyin.</summary>
public sealed class DouyinTests
{
    internal static DouyinOptions Options(Uri? api = null) => new()
    {
        ClientKey = FakePlatform.DouyinClientKey,
        ClientSecret = FakePlatform.DouyinClientSecret,
        AccountOpenId = "account-open-id",
        ApiBaseAddress = api ?? new Uri("http://127.0.0.1:9/"),
    };

    internal static DouyinWebhookHandler Handler() => new(Microsoft.Extensions.Options.Options.Create(Options()));

    internal static WebhookRequest Push(string body, string? msgId = "push-1", string? signature = null) => new()
    {
        Method = "POST",
        Path = "/chat/channels/douyin/webhook",
        Headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["X-Douyin-Signature"] = signature ?? DouyinWebhookHandler.Sign(FakePlatform.DouyinClientSecret, Encoding.UTF8.GetBytes(body)),
            ["Msg-Id"] = msgId ?? string.Empty,
        }.Where(h => h.Value.Length > 0).ToDictionary(StringComparer.OrdinalIgnoreCase),
        Body = Encoding.UTF8.GetBytes(body),
    };

    internal static string Receive(string text, string serverMessageId = "smid-1", bool contentAsString = false, string from = "customer-open-id")
    {
        var content = new JsonObject
        {
            ["conversation_short_id"] = "conv-short-1",
            ["server_message_id"] = serverMessageId,
            ["conversation_type"] = 1,
            ["message_type"] = "text",
            ["text"] = text,
            ["create_time"] = 1714037059123,
            ["user_infos"] = new JsonArray(new JsonObject { ["open_id"] = from, ["nick_name"] = "小明", ["avatar"] = "https://a.example/1.png" }),
        };
        return new JsonObject
        {
            ["event"] = "im_receive_msg",
            ["client_key"] = FakePlatform.DouyinClientKey,
            ["from_user_id"] = from,
            ["to_user_id"] = "account-open-id",
            ["log_id"] = "log-1",
            ["content"] = contentAsString ? content.ToJsonString() : content,
        }.ToJsonString();
    }

    [Fact]
    public async Task Vector_signature_and_verify_webhook_challenge()
    {
        const string body = "{\"event\":\"verify_webhook\",\"client_key\":\"abc\",\"content\":{\"challenge\":12345}}";
        Assert.Equal("06a34792b6e3cab66866a926fc8db6e2d3a77f5b", DouyinWebhookHandler.Sign("testsecret", Encoding.UTF8.GetBytes(body)));
        var result = await Handler().HandleAsync(Push(body, signature: "06a34792b6e3cab66866a926fc8db6e2d3a77f5b"), default);
        Assert.Equal(200, result.Response.StatusCode);
        Assert.Equal("{\"challenge\":12345}", Encoding.UTF8.GetString(result.Response.Body.Span));
        Assert.Empty(result.Messages);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Customer_messages_keep_what_a_reply_must_quote(bool contentAsString)
    {
        var result = await Handler().HandleAsync(Push(Receive("我的订单到哪了", contentAsString: contentAsString), msgId: "push-77"), default);
        var message = Assert.Single(result.Messages);
        Assert.Equal(("customer-open-id", "push-77", MessageKind.Text, "我的订单到哪了", "小明"), (message.PlatformUserId, message.PlatformMessageId, message.Kind, message.Content, message.DisplayName));
        Assert.Equal("conv-short-1", message.Metadata["douyin.conversation_short_id"]);
        Assert.Equal("smid-1", message.Metadata["douyin.server_message_id"]);
        Assert.Equal("smid-1", message.Metadata[MessageMetadataKeys.PlatformMessageKey]);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1714037059123), message.PlatformTimestamp);
    }

    [Fact]
    public async Task Entries_recalls_own_sends_and_authorisations()
    {
        var enter = Assert.Single((await Handler().HandleAsync(Push("{\"event\":\"im_enter_direct_msg\",\"client_key\":\"abc\",\"from_user_id\":\"c1\",\"to_user_id\":\"a\",\"content\":{\"conversation_short_id\":\"conv-2\"}}", msgId: "push-enter"), default)).Messages);
        Assert.Equal((MessageKind.Event, "push-enter", "conv-2"), (enter.Kind, enter.PlatformMessageId, enter.Metadata["douyin.conversation_short_id"]));

        var recall = Assert.Single((await Handler().HandleAsync(Push("{\"event\":\"im_recall_msg\",\"client_key\":\"abc\",\"from_user_id\":\"c1\",\"to_user_id\":\"a\",\"content\":\"{\\\"server_message_id\\\":\\\"smid-1\\\",\\\"conversation_short_id\\\":\\\"conv-2\\\"}\"}", msgId: "push-recall"), default)).Messages);
        Assert.Equal((MessageKind.Event, "smid-1"), (recall.Kind, recall.Metadata[MessageMetadataKeys.Recalls]));
        Assert.Equal("recall", JsonNode.Parse(recall.Content)!["type"]!.ToString());

        var ownSend = await Handler().HandleAsync(Push("{\"event\":\"im_send_msg\",\"client_key\":\"abc\",\"from_user_id\":\"a\",\"to_user_id\":\"c1\",\"content\":{\"source\":\"abc\",\"message_type\":\"text\",\"text\":\"our reply\"}}"), default);
        Assert.Equal(200, ownSend.Response.StatusCode);
        Assert.Empty(ownSend.Messages);

        foreach (var name in new[] { "authorize", "unauthorize" })
        {
            var ack = await Handler().HandleAsync(Push($"{{\"event\":\"{name}\",\"client_key\":\"abc\",\"from_user_id\":\"c1\",\"content\":{{}}}}"), default);
            Assert.Equal(200, ack.Response.StatusCode);
            Assert.Empty(ack.Messages);
        }
    }

    [Fact]
    public async Task Bad_input_is_refused_with_a_reason_and_nothing_taken()
    {
        var valid = Receive("hi");
        var cases = new (WebhookRequest Request, int Status, string Reason)[]
        {
            (Push(valid, signature: "0000000000000000000000000000000000000000"), 401, "X-Douyin-Signature"),
            (Push(valid, signature: DouyinWebhookHandler.Sign("wrong", Encoding.UTF8.GetBytes(valid))), 401, "X-Douyin-Signature"),
            (new WebhookRequest { Method = "POST", Path = "/", Body = Encoding.UTF8.GetBytes(valid) }, 401, "X-Douyin-Signature"),
            (Push(valid.Replace("\"hi\"", "\"hI\"", StringComparison.Ordinal), signature: DouyinWebhookHandler.Sign("testsecret", Encoding.UTF8.GetBytes(valid))), 401, "X-Douyin-Signature"),
            (Push("{\"event\":"), 400, "JSON"),
            (Push("[1,2]"), 400, "object"),
            (Push("{\"client_key\":\"abc\"}"), 400, "event"),
            (Push("{\"event\":\"im_receive_msg\",\"client_key\":\"other\",\"from_user_id\":\"c\",\"content\":{}}"), 400, "client_key"),
            (Push("{\"event\":\"im_group_msg\",\"client_key\":\"abc\",\"content\":{}}"), 400, "im_group_msg"),
            (Push("{\"event\":\"im_receive_msg\",\"client_key\":\"abc\",\"from_user_id\":\"c\",\"content\":\"{broken\"}"), 400, "content"),
            (Push("{\"event\":\"im_receive_msg\",\"client_key\":\"abc\",\"from_user_id\":\"c\",\"content\":{\"message_type\":\"text\"}}"), 400, "text"),
            (Push("{\"event\":\"im_receive_msg\",\"client_key\":\"abc\",\"content\":{\"message_type\":\"text\",\"text\":\"x\"}}"), 400, "from_user_id"),
            (Push("{\"event\":\"im_recall_msg\",\"client_key\":\"abc\",\"from_user_id\":\"c\",\"content\":{}}"), 400, "server_message_id"),
            (Push("{\"event\":\"verify_webhook\",\"client_key\":\"abc\",\"content\":{}}"), 400, "challenge"),
        };
        await Refusals.AssertAsync(() => Handler(), cases);
    }

    private static DouyinSender Sender(FakePlatform fake)
    {
        var options = Microsoft.Extensions.Options.Options.Create(Options(fake.BaseAddress));
        return new DouyinSender(options, new DouyinApi(options, new TestHttpClientFactory(), TimeProvider.System));
    }

    internal static OutboundDelivery Reply(string text, bool quoting = true) => new()
    {
        Message = new ChatMessage { Id = 5, TenantId = "default", ChannelId = "douyin", Sender = new MessageSender(SenderKind.Agent, "agent-1"), Content = text, Direction = MessageDirection.Outbound },
        Recipient = new ChannelIdentity("douyin", "customer-open-id"),
        InReplyTo = quoting
            ? new ChatMessage
            {
                TenantId = "default",
                ChannelId = "douyin",
                Sender = new MessageSender(SenderKind.Customer, "1"),
                Direction = MessageDirection.Inbound,
                Metadata = new Dictionary<string, string> { ["douyin.conversation_short_id"] = "conv-short-1", ["douyin.server_message_id"] = "smid-1" },
            }
            : null,
    };

    [Fact]
    public async Task Replies_quote_the_customer_message_and_the_token_is_refreshed_once_when_expired()
    {
        await using var fake = await FakePlatform.StartAsync();
        var sender = Sender(fake);
        var sent = await sender.SendAsync(Reply("您好"), default);
        Assert.Equal((DeliveryStatus.Sent, "dy-msg-1"), (sent.Status, sent.PlatformMessageId));
        var (token, openId, body) = Assert.Single(fake.DouyinSends);
        Assert.Equal(("dy-token-1", "account-open-id"), (token, openId));
        Assert.Equal("{\"msg_id\":\"smid-1\",\"conversation_id\":\"conv-short-1\",\"to_user_id\":\"customer-open-id\",\"content\":{\"msg_type\":1,\"text\":{\"text\":\"\\u60A8\\u597D\"}},\"scene\":\"im_replay_msg\"}", body.ToJsonString());

        fake.DouyinSendErrors.Enqueue(28001008);
        Assert.Equal(DeliveryStatus.Sent, (await sender.SendAsync(Reply("again"), default)).Status);
        Assert.Equal(2, fake.DouyinTokenCalls);
    }

    [Fact]
    public async Task Errors_end_or_retry_the_delivery_with_the_platform_description()
    {
        await using var fake = await FakePlatform.StartAsync();
        var sender = Sender(fake);
        fake.DouyinSendErrors.Enqueue(2190015); // e.g. the msg_id being answered is older than 24 h
        var expired = await sender.SendAsync(Reply("late"), default);
        Assert.Equal(DeliveryStatus.Failed, expired.Status);
        Assert.Contains("2190015", expired.Reason, StringComparison.Ordinal);

        fake.DouyinSendErrors.Enqueue(2100004);
        Assert.Equal(DeliveryStatus.Retry, (await sender.SendAsync(Reply("busy"), default)).Status);

        var unquoted = await sender.SendAsync(Reply("nothing to answer", quoting: false), default);
        Assert.Equal(DeliveryStatus.Failed, unquoted.Status);
        Assert.Contains("customer message", unquoted.Reason, StringComparison.Ordinal);
        Assert.Empty(fake.DouyinSends);
    }
}
