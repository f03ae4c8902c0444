using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Chat.Plugins.Tests.Infrastructure;
using Chat.Plugins.Webhook;
using Microsoft.Extensions.Time.Testing;

namespace Chat.Plugins.Tests;

/// <summary>The generic signed-HTTP channel as docs/channels/webhook.md describes it, both directions.</summary>
public sealed class WebhookChannelTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    internal static WebhookChannel Channel(Uri? outbound = null, TimeProvider? time = null, string? previous = null) =>
        new(Microsoft.Extensions.Options.Options.Create(new WebhookChannelOptions { Secret = FakePlatform.GenericSecret, PreviousSecret = previous, OutboundUrl = outbound }),
            new TestHttpClientFactory(), time ?? new FakeTimeProvider(Now));

    internal static WebhookRequest Signed(string body, DateTimeOffset? at = null, string secret = FakePlatform.GenericSecret, string? signature = null)
    {
        var timestamp = (at ?? Now).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var bytes = Encoding.UTF8.GetBytes(body);
        return new WebhookRequest
        {
            Method = "POST",
            Path = "/chat/channels/webhook/webhook",
            Headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
            {
                [WebhookChannel.TimestampHeader] = timestamp,
                [WebhookChannel.SignatureHeader] = signature ?? WebhookChannel.Sign(secret, timestamp, bytes),
            },
            Body = bytes,
        };
    }

    [Fact]
    public void Signature_is_hmac_sha256_over_timestamp_dot_body()
    {
        // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'generic-channel-secret-0123456789'
        Assert.Equal("v1=" + Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(Encoding.UTF8.GetBytes(FakePlatform.GenericSecret), Encoding.UTF8.GetBytes("1700000000.{\"a\":1}"))),
            WebhookChannel.Sign(FakePlatform.GenericSecret, "1700000000", "{\"a\":1}"u8));
    }

    [Fact]
    public async Task A_signed_message_is_taken_with_its_fields_and_none_of_the_framework_keys()
    {
        var body = "{\"id\":\"m-1\",\"userId\":\"u-1\",\"userName\":\"Ann\",\"kind\":\"image\",\"content\":\"https://img.example/1.png\",\"timestamp\":\"2026-11-26T11:59:00Z\",\"metadata\":{\"order\":\"A1\",\"chat.deliver\":\"true\",\"chat.private\":\"true\"},\"extra\":1}";
        var result = await Channel().HandleAsync(Signed(body), default);
        Assert.Equal(200, result.Response.StatusCode);
        var message = Assert.Single(result.Messages);
        Assert.Equal(("u-1", "m-1", "Ann", MessageKind.Image, "https://img.example/1.png"), (message.PlatformUserId, message.PlatformMessageId, message.DisplayName, message.Kind, message.Content));
        Assert.Equal(new DateTimeOffset(2026, 11, 26, 11, 59, 0, TimeSpan.Zero), message.PlatformTimestamp);
        Assert.Equal(["order"], message.Metadata.Keys);
    }

    [Fact]
    public async Task The_previous_secret_is_accepted_during_a_rotation()
    {
        var body = "{\"id\":\"m-2\",\"userId\":\"u-1\",\"content\":\"hi\"}";
        Assert.Single((await Channel(previous: "the-previous-secret-0123").HandleAsync(Signed(body, secret: "the-previous-secret-0123"), default)).Messages);
        Assert.Equal(401, (await Channel().HandleAsync(Signed(body, secret: "the-previous-secret-0123"), default)).Response.StatusCode);
    }

    [Fact]
    public async Task Bad_input_is_refused_with_a_reason_and_nothing_taken()
    {
        const string body = "{\"id\":\"m-1\",\"userId\":\"u-1\",\"content\":\"hi\"}";
        var cases = new (WebhookRequest Request, int Status, string Reason)[]
        {
            (Signed(body, signature: "v1=00"), 401, "X-Chat-Signature"),
            (Signed(body, secret: "some-other-secret-0123456789"), 401, "X-Chat-Signature"),
            (Signed(body, at: Now.AddMinutes(-6)), 401, "X-Chat-Timestamp"),
            (Signed(body, at: Now.AddMinutes(6)), 401, "X-Chat-Timestamp"),
            (new WebhookRequest { Method = "POST", Path = "/", Body = Encoding.UTF8.GetBytes(body) }, 401, "X-Chat-Timestamp"),
            (Signed("{\"id\":"), 400, "JSON"),
            (Signed("{\"userId\":\"u\",\"content\":\"x\"}"), 400, "id"),
            (Signed("{\"id\":\"m\",\"content\":\"x\"}"), 400, "userId"),
            (Signed("{\"id\":\"m\",\"userId\":\"u\"}"), 400, "content"),
            (Signed("{\"id\":\"m\",\"userId\":\"u\",\"content\":\"x\",\"kind\":\"event\"}"), 400, "kind"),
            (Signed("{\"id\":\"m\",\"userId\":\"u\",\"content\":\"x\",\"kind\":\"video\"}"), 400, "JSON"),
            (Signed("{\"id\":\"" + new string('x', 129) + "\",\"userId\":\"u\",\"content\":\"x\"}"), 400, "id"),
            (Signed("null"), 400, "empty"),
            (new WebhookRequest { Method = "GET", Path = "/" }, 405, "GET"),
        };
        await Refusals.AssertAsync(() => Channel(), cases);
    }

    private static OutboundDelivery Reply(string text) => new()
    {
        Message = new ChatMessage { Id = 42, ConversationId = 7, TenantId = "default", ChannelId = "webhook", Sender = new MessageSender(SenderKind.Agent, "agent-1") { DisplayName = "Lee" }, Content = text, Direction = MessageDirection.Outbound, CreatedAt = Now },
        Recipient = new ChannelIdentity("webhook", "u-1"),
        Attempt = 2,
    };

    [Fact]
    public async Task Replies_are_posted_signed_and_statuses_map_to_retry_or_failure()
    {
        await using var fake = await FakePlatform.StartAsync();
        var channel = Channel(new Uri(fake.BaseAddress, "generic/inbox"), TimeProvider.System);
        var sent = await channel.SendAsync(Reply("hello"), default);
        Assert.Equal((DeliveryStatus.Sent, "generic-1"), (sent.Status, sent.PlatformMessageId));
        var (headers, body) = Assert.Single(fake.GenericReceived);
        Assert.Equal("42", headers[WebhookChannel.DeliveryHeader]);
        var json = JsonNode.Parse(body)!;
        Assert.Equal(("42", "7", "u-1", "text", "hello", "agent-1", "Lee", 2), (json["id"]!.ToString(), json["conversationId"]!.ToString(), json["userId"]!.ToString(),
            json["kind"]!.ToString(), json["content"]!.ToString(), json["agent"]!["id"]!.ToString(), json["agent"]!["name"]!.ToString(), (int)json["attempt"]!));

        fake.GenericStatuses.Enqueue(503);
        Assert.Equal(DeliveryStatus.Retry, (await channel.SendAsync(Reply("x"), default)).Status);
        fake.GenericStatuses.Enqueue(429);
        var limited = await channel.SendAsync(Reply("x"), default);
        Assert.Equal((DeliveryStatus.Retry, TimeSpan.FromSeconds(7)), (limited.Status, limited.RetryAfter));
        fake.GenericStatuses.Enqueue(400);
        var refused = await channel.SendAsync(Reply("x"), default);
        Assert.Equal(DeliveryStatus.Failed, refused.Status);
        Assert.Contains("400", refused.Reason, StringComparison.Ordinal);

        Assert.Equal(DeliveryStatus.Failed, (await Channel().SendAsync(Reply("x"), default)).Status); // no OutboundUrl
        Assert.Equal(DeliveryStatus.Retry, (await Channel(new Uri("http://127.0.0.1:1/"), TimeProvider.System).SendAsync(Reply("x"), default)).Status);
    }
}
