using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chat.Hub.Tests.Infrastructure;
using Chat.Plugins.Douyin;
using Chat.Plugins.Tests.Infrastructure;
using Chat.Plugins.Webhook;
using Chat.Protocol;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.Plugins.Tests;

/// <summary>
/// The four plugins loaded from their built folders into a real host (Kestrel, SQLite, the hub), with every platform
/// a fake on loopback: pushes reach a connected agent over SignalR, replies reach the platforms as correct API calls,
/// and an order number brings its card from the fake ERP.
/// </summary>
public sealed class PluginEndToEndTests : IAsyncLifetime
{
    private static readonly string PluginsDir = typeof(PluginEndToEndTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "PluginsDir").Value!;
    private readonly HttpClient _http = new();
    private FakePlatform _fake = null!;
    private ChatTestServer _server = null!;

    public async Task InitializeAsync()
    {
        _fake = await FakePlatform.StartAsync();
        _fake.AddOrder("2026112012345", "Sent", "SF1234567890", "SF Express");
        _server = await StartHostAsync(_fake);
    }

    /// <summary>A host with the four plugins from their folders, each pointed at <paramref name="fake"/>, and what <paramref name="chat"/> adds.</summary>
    internal static async Task<ChatTestServer> StartHostAsync(FakePlatform fake, Action<Microsoft.Extensions.Logging.ILoggingBuilder>? logging = null, Action<IChatBuilder>? chat = null)
    {
        var api = fake.BaseAddress.ToString();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["PluginHost:Directory"] = PluginsDir,
            ["PluginHost:FailFast"] = "true", // a plugin that does not load fails the test at start-up
            ["Plugins:wechat-miniprogram:AppId"] = FakePlatform.WeChatAppId,
            ["Plugins:wechat-miniprogram:AppSecret"] = FakePlatform.WeChatSecret,
            ["Plugins:wechat-miniprogram:Token"] = "AAAAA",
            ["Plugins:wechat-miniprogram:EncodingAesKey"] = WeChatTests.Key,
            ["Plugins:wechat-miniprogram:ApiBaseAddress"] = api,
            ["Plugins:douyin:ClientKey"] = FakePlatform.DouyinClientKey,
            ["Plugins:douyin:ClientSecret"] = FakePlatform.DouyinClientSecret,
            ["Plugins:douyin:AccountOpenId"] = "account-open-id",
            ["Plugins:douyin:ApiBaseAddress"] = api,
            ["Plugins:jushuitan:AppKey"] = FakePlatform.JstAppKey,
            ["Plugins:jushuitan:AppSecret"] = FakePlatform.JstAppSecret,
            ["Plugins:jushuitan:AccessToken"] = FakePlatform.JstAccessToken,
            ["Plugins:jushuitan:ApiBaseAddress"] = api,
            ["Plugins:jushuitan:LookupTimeout"] = "00:00:02.500", // under its time budget, and well under WeChat's 5 s
            ["PluginHost:TimeBudgets:jushuitan"] = "00:00:04",
            ["Plugins:webhook:Secret"] = FakePlatform.GenericSecret,
            ["Plugins:webhook:OutboundUrl"] = api + "generic/inbox",
        }).Build();
        return await ChatTestServer.StartAsync(await TestStorage.CreateAsync(StoreKind.Sqlite), o =>
        {
            o.MaxWebhookBodyBytes = 64 * 1024;
            o.DeliveryRetryDelay = TimeSpan.FromMilliseconds(100);
            o.AgentsHearEveryMessage = true; // one shared inbox: the agent hears each push before taking its conversation
        }, chat: c =>
        {
            c.AddPlugins();
            chat?.Invoke(c);
        }, configuration: configuration, logging: logging);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
        await _fake.DisposeAsync();
    }

    [Fact]
    public async Task The_four_plugins_load_from_their_folders_each_active_and_isolated()
    {
        using var json = JsonDocument.Parse(await _http.GetStringAsync(_server.Url + "/chat/plugins"));
        var plugins = json.RootElement.EnumerateArray().ToDictionary(p => p.GetProperty("id").GetString()!, p => p.GetProperty("status").GetString());
        Assert.Equal(new Dictionary<string, string?> { ["douyin"] = "Active", ["jushuitan"] = "Active", ["webhook"] = "Active", ["wechat-miniprogram"] = "Active" }, plugins);

        // Each folder holds its own assembly and private dependencies, and none of the host's shared ones.
        foreach (var id in plugins.Keys)
        {
            var files = Directory.GetFiles(Path.Combine(PluginsDir, id)).Select(Path.GetFileName).ToArray();
            Assert.Contains("plugin.json", files);
            Assert.DoesNotContain("Chat.Abstractions.dll", files);
            Assert.DoesNotContain("Microsoft.Extensions.Http.dll", files);
            Assert.DoesNotContain("Microsoft.Extensions.Hosting.Abstractions.dll", files);
        }

        Assert.Contains("Microsoft.Extensions.Caching.Hybrid.dll", Directory.GetFiles(Path.Combine(PluginsDir, "jushuitan")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_safe_mode_WeChat_push_reaches_the_agent_once_with_its_order_card_and_the_reply_reaches_WeChat()
    {
        var (agent, inbox, deliveries) = await ConnectAgentAsync();
        await using var _ = agent;

        var plain = "{\"ToUserName\":\"gh_97417a04a28d\",\"FromUserName\":\"openid-e2e\",\"CreateTime\":1714037059,\"MsgType\":\"text\",\"Content\":\"订单 2026112012345 到哪了\",\"MsgId\":24567890123456789}";
        var push = WeChatTests.SafeModePush(plain);
        var first = await PostAsync("wechat-miniprogram", push);
        Assert.Equal((HttpStatusCode.OK, "success"), (first.StatusCode, await first.Content.ReadAsStringAsync()));
        var replay = await PostAsync("wechat-miniprogram", push); // WeChat's retry: stored once
        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);

        var conversation = Assert.Single(await agent.GetQueueAsync(), c => c.ChannelId == "wechat-miniprogram");
        await inbox.WaitForAsync(conversation.Id, 1, "the agent");
        await Task.Delay(300);
        var message = Assert.Single(inbox.In(conversation.Id));
        Assert.Equal(("订单 2026112012345 到哪了", "24567890123456789"), (message.Content, message.PlatformMessageId));
        var card = JsonNode.Parse(message.Metadata[MessageMetadataKeys.Cards])![0]!;
        Assert.Equal(("order", "Sent", "SF1234567890"), (card["type"]!.ToString(), card["order"]!["status"]!.ToString(), card["order"]!["shipments"]![0]!["trackingNumber"]!.ToString()));

        // The agent's side panel asks the ERP plugin about this customer (the orders they named) or about one order.
        using var panel = new HttpRequestMessage(HttpMethod.Get, $"{_server.Url}/chat/api/conversations/{conversation.Id}/context");
        panel.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ChatTestServer.AgentToken("alice"));
        using var context = JsonDocument.Parse(await (await _http.SendAsync(panel)).Content.ReadAsStringAsync());
        var jushuitan = Assert.Single(context.RootElement.EnumerateArray());
        Assert.Equal(("jushuitan", true), (jushuitan.GetProperty("source").GetString(), jushuitan.GetProperty("isAvailable").GetBoolean()));
        Assert.Equal("2026112012345", Assert.Single(jushuitan.GetProperty("orders").EnumerateArray()).GetProperty("orderNumber").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, (await _http.GetAsync($"{_server.Url}/chat/api/conversations/{conversation.Id}/context")).StatusCode);
        // The lookup of this customer's orders is in the audit log, by whom and about whom; the refused one is not.
        var audited = Assert.Single(await _server.Services.GetRequiredService<Chat.Storage.IAuditLog>().ReadAsync(
            new Chat.Storage.AuditQuery { TenantId = conversation.TenantId, ConversationId = conversation.Id }, CancellationToken.None));
        Assert.Equal(("alice", Chat.Storage.AuditActions.ReadCustomerContext, (long?)conversation.ContactId, (string?)null),
            (audited.ActorId, audited.Action, audited.ContactId, audited.Detail));

        await agent.AcceptAsync(conversation.Id);
        var reply = await agent.ReplyAsync(conversation.Id, "已发货，顺丰 SF1234567890");
        await Eventually.TrueAsync(() => deliveries.Any(d => d.MessageId == reply.Id && d.Status == DeliveryStatus.Sent), "the reply's delivery");
        var sent = Assert.Single(_fake.WeChatSends);
        Assert.Equal(("openid-e2e", "text", "已发货，顺丰 SF1234567890"), (sent["touser"]!.ToString(), sent["msgtype"]!.ToString(), sent["text"]!["content"]!.ToString()));
    }

    [Fact]
    public async Task With_the_ERP_down_the_push_is_answered_in_time_and_the_card_says_it_is_unavailable()
    {
        var (agent, inbox, deliveries) = await ConnectAgentAsync();
        await using var _ = agent;
        _fake.JstDelay = TimeSpan.FromSeconds(30);

        var plain = "{\"ToUserName\":\"gh_1\",\"FromUserName\":\"openid-slow\",\"CreateTime\":1714037059,\"MsgType\":\"text\",\"Content\":\"2026112012345?\",\"MsgId\":555}";
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var response = await PostAsync("wechat-miniprogram", WeChatTests.SafeModePush(plain));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"WeChat waits 5 s; the reply took {watch.Elapsed}");

        var conversation = Assert.Single(await agent.GetQueueAsync(), c => c.ChannelId == "wechat-miniprogram");
        await inbox.WaitForAsync(conversation.Id, 1, "the agent");
        var card = JsonNode.Parse(inbox.In(conversation.Id)[0].Metadata[MessageMetadataKeys.Cards])![0]!;
        Assert.Equal(("unavailable", "The ERP did not answer in time."), (card["type"]!.ToString(), card["reason"]!.ToString()));
    }

    [Fact]
    public async Task A_Douyin_push_reaches_the_agent_and_the_reply_quotes_it_at_Douyin()
    {
        var (agent, inbox, deliveries) = await ConnectAgentAsync();
        await using var _ = agent;

        var verify = await PostAsync("douyin", DouyinTests.Push("{\"event\":\"verify_webhook\",\"client_key\":\"abc\",\"content\":{\"challenge\":12345}}"));
        Assert.Equal("{\"challenge\":12345}", await verify.Content.ReadAsStringAsync());

        var push = DouyinTests.Push(DouyinTests.Receive("有优惠吗", serverMessageId: "smid-e2e", contentAsString: true, from: "dy-customer"), msgId: "push-e2e");
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("douyin", push)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("douyin", push)).StatusCode); // Douyin's retry: stored once
        var conversation = Assert.Single(await agent.GetQueueAsync(), c => c.ChannelId == "douyin");
        await inbox.WaitForAsync(conversation.Id, 1, "the agent");
        await Task.Delay(300);
        Assert.Equal(("有优惠吗", "小明"), (Assert.Single(inbox.In(conversation.Id)).Content, inbox.In(conversation.Id)[0].Sender.DisplayName));

        await agent.AcceptAsync(conversation.Id);
        var reply = await agent.ReplyAsync(conversation.Id, "今天全场九折");
        await Eventually.TrueAsync(() => deliveries.Any(d => d.MessageId == reply.Id && d.Status == DeliveryStatus.Sent), "the reply's delivery");
        var (token, openId, body) = Assert.Single(_fake.DouyinSends);
        Assert.Equal(("dy-token-1", "account-open-id", "smid-e2e", "conv-short-1", "dy-customer", "今天全场九折"),
            (token, openId, body["msg_id"]!.ToString(), body["conversation_id"]!.ToString(), body["to_user_id"]!.ToString(), body["content"]!["text"]!["text"]!.ToString()));

        // The customer recalls the message: an event naming it, for the agent's view to mark.
        var recall = DouyinTests.Push("{\"event\":\"im_recall_msg\",\"client_key\":\"abc\",\"from_user_id\":\"dy-customer\",\"content\":{\"server_message_id\":\"smid-e2e\",\"conversation_short_id\":\"conv-short-1\"}}", msgId: "push-recall");
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("douyin", recall)).StatusCode);
        await Eventually.TrueAsync(() => inbox.In(conversation.Id).Any(m => m.Kind == MessageKind.Event), "the recall at the agent");
        Assert.Equal("smid-e2e", inbox.In(conversation.Id).Single(m => m.Kind == MessageKind.Event).Metadata[MessageMetadataKeys.Recalls]);
    }

    [Fact]
    public async Task The_generic_channel_takes_signed_posts_and_posts_signed_replies()
    {
        var (agent, inbox, deliveries) = await ConnectAgentAsync();
        await using var _ = agent;
        var body = "{\"id\":\"shop-msg-1\",\"userId\":\"shop-user-1\",\"userName\":\"Ann\",\"content\":\"hello from my own app\"}";
        var post = WebhookChannelTests.Signed(body, at: DateTimeOffset.UtcNow);
        var response = await PostAsync("webhook", post);
        Assert.Equal((HttpStatusCode.OK, "{\"accepted\":true}"), (response.StatusCode, await response.Content.ReadAsStringAsync()));
        var conversation = Assert.Single(await agent.GetQueueAsync(), c => c.ChannelId == "webhook");
        await agent.AcceptAsync(conversation.Id);
        var reply = await agent.ReplyAsync(conversation.Id, "hi Ann");
        await Eventually.TrueAsync(() => !_fake.GenericReceived.IsEmpty, "the reply at the platform");
        var (headers, sent) = Assert.Single(_fake.GenericReceived); // the fake checked its signature
        Assert.Equal(reply.Id.ToString(CultureInfo.InvariantCulture), headers[WebhookChannel.DeliveryHeader]);
        Assert.Equal(("shop-user-1", "hi Ann"), (JsonNode.Parse(sent)!["userId"]!.ToString(), JsonNode.Parse(sent)!["content"]!.ToString()));
    }

    [Fact]
    public async Task Unsigned_malformed_oversized_and_unknown_pushes_store_nothing_and_the_host_keeps_serving()
    {
        var valid = DouyinTests.Receive("hi", from: "attacker");
        var cases = new (string Channel, WebhookRequest Request, HttpStatusCode Status)[]
        {
            ("douyin", DouyinTests.Push(valid, signature: "0000000000000000000000000000000000000000"), HttpStatusCode.Unauthorized),
            ("douyin", DouyinTests.Push("{\"event\":\"im_receive_msg\""), HttpStatusCode.BadRequest),
            ("douyin", DouyinTests.Push("{\"event\":\"im_mystery\",\"client_key\":\"abc\"}"), HttpStatusCode.BadRequest),
            ("wechat-miniprogram", WeChatTests.SafeModePush(WeChatTests.V5Plain, appId: "wx-someone-else"), HttpStatusCode.BadRequest),
            ("wechat-miniprogram", WeChatTests.Post(WeChatTests.V5Plain), HttpStatusCode.Unauthorized),
            ("webhook", WebhookChannelTests.Signed("{\"id\":\"x\",\"userId\":\"attacker\",\"content\":\"old\"}", at: DateTimeOffset.UtcNow.AddHours(-1)), HttpStatusCode.Unauthorized),
            ("douyin", DouyinTests.Push(DouyinTests.Receive(new string('x', 70 * 1024), from: "attacker")), HttpStatusCode.RequestEntityTooLarge),
        };
        foreach (var (channel, request, status) in cases)
        {
            var response = await PostAsync(channel, request);
            Assert.Equal(status, response.StatusCode);
            Assert.False(string.IsNullOrWhiteSpace(await response.Content.ReadAsStringAsync()), "a refusal says why");
        }

        await using var agent = _server.Agent("alice");
        await agent.StartAsync();
        Assert.Empty(await agent.GetQueueAsync());
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("douyin", DouyinTests.Push(DouyinTests.Receive("still here"), msgId: "after"))).StatusCode);
        Assert.Single(await agent.GetQueueAsync());
    }

    private async Task<(Client.AgentChatClient Agent, Received Inbox, ConcurrentQueue<DeliveryEvent> Deliveries)> ConnectAgentAsync()
    {
        var agent = _server.Agent("alice");
        var inbox = new Received();
        var deliveries = new ConcurrentQueue<DeliveryEvent>();
        agent.MessageReceived += inbox.AddAsync;
        agent.DeliveryChanged += deliveries.Enqueue;
        await agent.StartAsync();
        return (agent, inbox, deliveries);
    }

    private Task<HttpResponseMessage> PostAsync(string channel, WebhookRequest request) => PostAsync(_http, _server, channel, request);

    /// <summary>Posts a platform's push to a channel's webhook as the platform would: its query, headers and raw body.</summary>
    internal static Task<HttpResponseMessage> PostAsync(HttpClient http, ChatTestServer server, string channel, WebhookRequest request)
    {
        var query = string.Join('&', request.Query.Select(q => Uri.EscapeDataString(q.Key) + "=" + Uri.EscapeDataString(q.Value)));
        var message = new HttpRequestMessage(new HttpMethod(request.Method), $"{server.Url}/chat/channels/{channel}/webhook" + (query.Length > 0 ? "?" + query : string.Empty))
        {
            Content = new ByteArrayContent(request.Body.ToArray()),
        };
        foreach (var (name, value) in request.Headers)
        {
            message.Headers.TryAddWithoutValidation(name, value);
        }

        return http.SendAsync(message);
    }
}
