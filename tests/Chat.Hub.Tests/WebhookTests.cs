using System.Diagnostics.Metrics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Chat.Hub.Tests.Infrastructure;
using Chat.Plugins;
using Chat.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Chat.Hub.Tests;

/// <summary>A compiled-in channel plugin that speaks a small signed-JSON protocol, as a platform plugin would.</summary>
public sealed class SignedJsonChannel : IWebhookHandler, IChannelSender
{
    /// <summary>Every delivery attempt the host made, in order.</summary>
    public static readonly System.Collections.Concurrent.ConcurrentQueue<OutboundDelivery> Deliveries = new();

    public ValueTask<DeliveryResult> SendAsync(OutboundDelivery delivery, CancellationToken cancellationToken)
    {
        Deliveries.Enqueue(delivery);
        return ValueTask.FromResult(delivery.Message.Content switch
        {
            "retry-once" when delivery.Attempt == 1 => DeliveryResult.Retry("-1: system busy"),
            "window-closed" => DeliveryResult.Failed("45015: the 48-hour reply window is closed"),
            "throws" => throw new HttpRequestException("connection refused"),
            _ => DeliveryResult.Sent("platform-" + delivery.Message.Id),
        });
    }

    public static readonly byte[] Secret = Encoding.UTF8.GetBytes("platform-secret");

    public string ChannelId => "test-channel";

    public static string Sign(byte[] body) => Convert.ToHexStringLower(HMACSHA256.HashData(Secret, body));

    public ValueTask<WebhookResult> HandleAsync(WebhookRequest request, CancellationToken cancellationToken)
    {
        if (request.Method == "GET")
        {
            return ValueTask.FromResult(WebhookResult.ReplyOnly(WebhookResponse.Text(200, request.GetQuery("echostr") ?? string.Empty)));
        }

        var given = request.GetHeader("X-Test-Signature");
        if (given is null || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(given), Encoding.ASCII.GetBytes(Sign(request.Body.ToArray()))))
        {
            return ValueTask.FromResult(WebhookResult.ReplyOnly(WebhookResponse.Text(401, "bad signature")));
        }

        string user, id, text;
        try
        {
            using var json = JsonDocument.Parse(request.Body);
            (user, id, text) = (json.RootElement.GetProperty("user").GetString()!, json.RootElement.GetProperty("id").GetString()!, json.RootElement.GetProperty("text").GetString()!);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return ValueTask.FromResult(WebhookResult.ReplyOnly(WebhookResponse.Text(400, "malformed JSON: " + ex.Message)));
        }

        if (text == "boom")
        {
            throw new InvalidOperationException("the plugin broke");
        }

        return ValueTask.FromResult(new WebhookResult(WebhookResponse.Text(200, "success"),
            [new InboundMessage { PlatformUserId = user, PlatformMessageId = id, Content = text, DisplayName = "Platform user " + user }]));
    }
}

/// <summary>A compiled-in pipeline plugin that notes each platform message it sees, and takes its time over "slow" ones (a second) and "slower" ones (three).</summary>
public sealed class SeenByPipeline : IChannelPlugin
{
    public static readonly System.Collections.Concurrent.ConcurrentQueue<string> PlatformMessageIds = new();

    /// <summary>The conversation each message was seen with, by platform message id (or client message id).</summary>
    public static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Conversation> Conversations = new();

    public int Priority => PluginPriority.Enrichment;

    public async ValueTask OnMessageAsync(MessageContext context, CancellationToken cancellationToken)
    {
        if (context.Message.PlatformMessageId is { } id)
        {
            PlatformMessageIds.Enqueue(id);
        }

        if ((context.Message.PlatformMessageId ?? context.Message.ClientMessageId) is { } key)
        {
            Conversations[key] = context.Conversation;
        }

        if (context.Message.Content is "slow" or "slower")
        {
            await Task.Delay(TimeSpan.FromSeconds(context.Message.Content == "slow" ? 1 : 3), cancellationToken);
        }
    }
}

public sealed class WebhookTests : IAsyncLifetime
{
    private ChatTestServer _server = null!;
    private readonly HttpClient _http = new();

    public async Task InitializeAsync() =>
        _server = await ChatTestServer.StartAsync(await TestStorage.CreateAsync(StoreKind.Sqlite), o =>
            {
                o.MaxWebhookBodyBytes = 4096;
                o.DeliveryRetryDelay = TimeSpan.FromMilliseconds(100);
                o.MaxDeliveryAttempts = 3;
            },
            chat: Plugins);

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task A_push_is_stored_before_the_reply_and_reaches_the_agent_once_even_when_replayed()
    {
        await using var agent = _server.Agent("alice");
        var inbox = new Received();
        agent.MessageReceived += inbox.AddAsync;
        await agent.StartAsync();

        var body = """{"user":"openid-1","id":"pm-1","text":"is my order shipped?"}""";
        var first = await PostAsync(body);
        Assert.Equal((HttpStatusCode.OK, "success"), (first.StatusCode, await first.Content.ReadAsStringAsync()));

        // The reply came after the commit: the message is readable the moment the platform has its "success".
        var queue = await agent.GetQueueAsync();
        var conversation = Assert.Single(queue, c => c.ChannelId == "test-channel");
        var history = await agent.ResumeAsync(new ResumeRequest { ConversationId = conversation.Id });
        var stored = Assert.Single(history.Messages);
        Assert.Equal(("is my order shipped?", "pm-1", MessageDirection.Inbound), (stored.Content, stored.PlatformMessageId, stored.Direction));
        await agent.WatchAsync(conversation.Id); // the agent opens it (queued, nobody's): its history now, its pushes live from here

        // The platform retries (it did not see the reply in time): stored once, delivered once, and the plugins saw
        // it once (the retry is answered before the pipeline), so an auto-reply plugin would answer it once.
        var replay = await PostAsync(body);
        Assert.Equal((HttpStatusCode.OK, "success"), (replay.StatusCode, await replay.Content.ReadAsStringAsync()));
        await inbox.WaitForAsync(conversation.Id, 1, "the agent");
        await Task.Delay(300);
        Assert.Single(inbox.In(conversation.Id));
        Assert.Single(SeenByPipeline.PlatformMessageIds, "pm-1");
        Assert.Single((await agent.ResumeAsync(new ResumeRequest { ConversationId = conversation.Id })).Messages);

        // The platform retries while the original is still in the pipeline (an ERP lookup taking its time): the retry
        // waits for the original and is answered with it; the plugins see it once.
        var slow = """{"user":"openid-1","id":"pm-slow","text":"slow"}""";
        var racing = await Task.WhenAll(PostAsync(slow), Task.Delay(200).ContinueWith(_ => PostAsync(slow)).Unwrap());
        Assert.All(racing, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Single(SeenByPipeline.PlatformMessageIds, "pm-slow");
        Assert.Equal(2, (await agent.ResumeAsync(new ResumeRequest { ConversationId = conversation.Id })).Messages.Count);

        // The same platform user's next message lands in the same conversation.
        await PostAsync("""{"user":"openid-1","id":"pm-2","text":"thanks"}""");
        Assert.Equal(3, (await agent.ResumeAsync(new ResumeRequest { ConversationId = conversation.Id })).Messages.Count);
    }

    [Fact]
    public async Task A_platforms_retry_of_a_push_whose_node_stopped_before_pushing_it_reaches_the_agent()
    {
        await using var agent = _server.Agent("alice");
        var inbox = new Received();
        agent.MessageReceived += inbox.AddAsync;
        await agent.StartAsync();
        await PostAsync("""{"user":"openid-stopped","id":"pm-s1","text":"hello"}""");
        var conversation = Assert.Single(await agent.GetQueueAsync(), c => c.ChannelId == "test-channel");
        await agent.WatchAsync(conversation.Id);
        await inbox.WaitForAsync(conversation.Id, 1, "the agent");

        // A node stored the platform's next push and stopped before it pushed it or answered: the platform retries it.
        var first = Assert.Single(inbox.In(conversation.Id));
        await _server.Services.GetRequiredService<Storage.IMessageStore>().AppendAsync(
            first with { Id = 0, Seq = 0, PlatformMessageId = "pm-s2", Content = "stored, never pushed" }, CancellationToken.None);
        var retry = await PostAsync("""{"user":"openid-stopped","id":"pm-s2","text":"stored, never pushed"}""");

        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        await inbox.WaitForAsync(conversation.Id, 2, "the agent, with no further push");
        Assert.Equal(["hello", "stored, never pushed"], inbox.In(conversation.Id).Select(m => m.Content));
        Assert.DoesNotContain("pm-s2", SeenByPipeline.PlatformMessageIds); // answered before the plugins, as any retry
    }

    [Fact]
    public async Task Verification_bad_signatures_malformed_oversized_unknown_and_failing_pushes()
    {
        var verify = await _http.GetAsync(_server.Url + "/chat/channels/test-channel/webhook?echostr=challenge-123");
        Assert.Equal("challenge-123", await verify.Content.ReadAsStringAsync());

        var unsigned = new HttpRequestMessage(HttpMethod.Post, _server.Url + "/chat/channels/test-channel/webhook")
        {
            Content = new StringContent("""{"user":"u","id":"forged","text":"x"}"""),
        };
        unsigned.Headers.Add("X-Test-Signature", "00");
        Assert.Equal(HttpStatusCode.Unauthorized, (await _http.SendAsync(unsigned)).StatusCode);

        var malformed = await PostAsync("""{"user":"u","id":""");
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.StartsWith("malformed JSON", await malformed.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var big = await PostAsync("""{"user":"u","id":"big","text":" """ + new string('x', 5000) + "\"}");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, big.StatusCode);

        var unknown = await _http.PostAsync(_server.Url + "/chat/channels/nope/webhook", new StringContent("{}"));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("No active plugin handles channel 'nope'", await unknown.Content.ReadAsStringAsync());

        var boom = await PostAsync("""{"user":"u","id":"boom","text":"boom"}""");
        Assert.Equal(HttpStatusCode.InternalServerError, boom.StatusCode);

        // Nothing of the above was stored, and the host keeps serving.
        await using var agent = _server.Agent("alice");
        await agent.StartAsync();
        Assert.DoesNotContain(await agent.GetQueueAsync(), c => c.ChannelId == "test-channel");
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("""{"user":"u","id":"ok","text":"fine"}""")).StatusCode);
        Assert.Single(await agent.GetQueueAsync(), c => c.ChannelId == "test-channel");
    }

    [Fact]
    public async Task Replies_go_out_through_the_outbox_with_retries_and_agents_see_each_delivery_state()
    {
        using var attempts = new MetricCollector<long>(_server.Services.GetRequiredService<IMeterFactory>(), "Chat.Hub", "chat.deliveries");
        await using var agent = _server.Agent("alice");
        var states = new System.Collections.Concurrent.ConcurrentQueue<DeliveryEvent>();
        agent.DeliveryChanged += states.Enqueue;
        await agent.StartAsync();
        await PostAsync("""{"user":"openid-out","id":"out-1","text":"hi"}""");
        var conversation = Assert.Single(await agent.GetQueueAsync(), c => c.ChannelId == "test-channel");
        await agent.AcceptAsync(conversation.Id);

        var sent = await agent.ReplyAsync(conversation.Id, "your order ships today");
        var retried = await agent.ReplyAsync(conversation.Id, "retry-once");
        var closed = await agent.ReplyAsync(conversation.Id, "window-closed");
        var broken = await agent.ReplyAsync(conversation.Id, "throws");
        var note = await agent.NoteAsync(conversation.Id, "internal only");

        DeliveryEvent[] Of(SendResult r) => states.Where(e => e.MessageId == r.Id).ToArray();
        await Eventually.TrueAsync(() => Of(sent).Length == 1 && Of(retried).Length == 2 && Of(closed).Length == 1 && Of(broken).Length == 3,
            "the delivery states");
        Assert.Equal(DeliveryStatus.Sent, Of(sent)[0].Status);
        Assert.Equal([DeliveryStatus.Retry, DeliveryStatus.Sent], Of(retried).Select(e => e.Status));
        Assert.Equal("-1: system busy", Of(retried)[0].Reason);
        Assert.Equal((DeliveryStatus.Failed, "45015: the 48-hour reply window is closed"), (Of(closed)[0].Status, Of(closed)[0].Reason));
        Assert.Equal([DeliveryStatus.Retry, DeliveryStatus.Retry, DeliveryStatus.Failed], Of(broken).Select(e => e.Status));
        Assert.StartsWith("Gave up after 3 attempts: The channel plugin failed: connection refused", Of(broken)[2].Reason, StringComparison.Ordinal);
        var byOutcome = attempts.GetMeasurementSnapshot().GroupBy(m => ((string)m.Tags["chat.outcome"]!, (string)m.Tags["chat.channel"]!)).ToDictionary(g => g.Key, g => g.Sum(m => m.Value));
        Assert.Equal(new Dictionary<(string, string), long> { [("sent", "test-channel")] = 2, [("retry", "test-channel")] = 3, [("failed", "test-channel")] = 2 }, byOutcome);

        var delivered = SignedJsonChannel.Deliveries.Where(d => d.Message.ConversationId == conversation.Id).ToList();
        Assert.All(delivered, d => Assert.Equal(new ChannelIdentity("test-channel", "openid-out"), d.Recipient));
        Assert.DoesNotContain(delivered, d => d.Message.Id == note.Id); // private notes never leave
        Assert.Single(delivered, d => d.Message.Id == sent.Id);
        await Task.Delay(500);
        Assert.Single(SignedJsonChannel.Deliveries, d => d.Message.Id == sent.Id); // sent once, never again
    }

    [Fact]
    public async Task The_plugins_get_a_platform_users_conversation_as_this_node_last_changed_it()
    {
        // The node keeps the conversation of a platform user who wrote lately, and what changes it here changes it there.
        await PostAsync("""{"user":"openid-kept","id":"pm-kept-1","text":"hello"}""");
        await using var agent = _server.Agent("alice");
        await agent.StartAsync();
        var conversation = Assert.Single(await agent.GetQueueAsync(), c => c.ChannelId == "test-channel");
        await agent.AcceptAsync(conversation.Id);
        await PostAsync("""{"user":"openid-kept","id":"pm-kept-2","text":"are you there?"}""");

        Assert.Equal((ConversationStatus.Queued, null), (SeenByPipeline.Conversations["pm-kept-1"].Status, SeenByPipeline.Conversations["pm-kept-1"].AssigneeId));
        Assert.Equal((ConversationStatus.Open, "alice"), (SeenByPipeline.Conversations["pm-kept-2"].Status, SeenByPipeline.Conversations["pm-kept-2"].AssigneeId));
    }

    [Fact]
    public async Task The_plugins_get_a_hub_customers_conversation_as_its_last_change()
    {
        await using var customer = _server.Customer("c-kept");
        await customer.StartAsync();
        var conversation = await customer.StartConversationAsync();
        var changed = new TaskCompletionSource<Conversation>(TaskCreationOptions.RunContinuationsAsynchronously);
        customer.ConversationChanged += c => changed.TrySetResult(c);
        await customer.SendAsync(new SendRequest { ConversationId = conversation.Id, ClientMessageId = "cm-kept-1", Kind = MessageKind.Text, Content = "hello" });
        await using var agent = _server.Agent("alice");
        await agent.StartAsync();
        await agent.AcceptAsync(conversation.Id);
        Assert.Equal("alice", (await changed.Task.WaitAsync(TimeSpan.FromSeconds(10))).AssigneeId);
        await customer.SendAsync(new SendRequest { ConversationId = conversation.Id, ClientMessageId = "cm-kept-2", Kind = MessageKind.Text, Content = "are you there?" });

        Assert.Equal((ConversationStatus.Queued, null), (SeenByPipeline.Conversations["cm-kept-1"].Status, SeenByPipeline.Conversations["cm-kept-1"].AssigneeId));
        Assert.Equal((ConversationStatus.Open, "alice"), (SeenByPipeline.Conversations["cm-kept-2"].Status, SeenByPipeline.Conversations["cm-kept-2"].AssigneeId));
    }

    private Task<HttpResponseMessage> PostAsync(string json) => PostAsync(_http, _server, json);

    /// <summary>Posts a signed push of <see cref="SignedJsonChannel"/> to a host's webhook.</summary>
    internal static Task<HttpResponseMessage> PostAsync(HttpClient http, ChatTestServer server, string json, CancellationToken cancellationToken = default)
    {
        var body = Encoding.UTF8.GetBytes(json);
        var request = new HttpRequestMessage(HttpMethod.Post, server.Url + "/chat/channels/test-channel/webhook") { Content = new ByteArrayContent(body) };
        request.Headers.Add("X-Test-Signature", SignedJsonChannel.Sign(body));
        return http.SendAsync(request, cancellationToken);
    }

    /// <summary>The compiled-in channel and the plugin that notes what the pipeline sees.</summary>
    internal static void Plugins(IChatBuilder chat) => chat.AddPlugin<SignedJsonChannel>("test-channel").AddPlugin<SeenByPipeline>();
}
