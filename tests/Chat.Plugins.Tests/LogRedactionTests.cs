using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Chat.Hub.Security;
using Chat.Hub.Tests.Infrastructure;
using Chat.Plugins.Tests.Infrastructure;
using Chat.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Chat.Plugins.Tests;

/// <summary>
/// What the logs of a host hold after customers on every channel and an agent have chatted, with every category at
/// its most detailed level: no credential (tokens, secrets, keys) and no customer data (what customers and agents
/// wrote, names, platform user ids). The one exception is ASP.NET Core's request-starting log, which writes every
/// URL with its query string, where browsers put their access tokens; it stays at Warning, as in ASP.NET Core's
/// templates, and the hub warns at start-up when it is not (docs/security.md).
/// </summary>
public sealed class LogRedactionTests : IAsyncLifetime
{
    private const string OpenId = "oPrivate-openid-4471";
    private const string DouyinUser = "dy-private-user-9";
    private const string GenericUser = "shop-private-user-3";
    private const string VisitorName = "Li Siyuan-private";
    private const string GenericName = "Ann Private-Name";

    private static readonly string[] Contents =
    [
        "手机 13812345678 地址 上海市静安区南京西路1266号 订单 2026112012345",
        "身份证 310101199001011234 能开发票吗",
        "card 6222-0202-0000-1234 please",
        "visitor private text call me on 555-0101",
        "reply private 9876 已发货",
        "note private about the customer 4242",
        "web reply private 1357",
        "douyin reply private 2468",
    ];

    private readonly HttpClient _http = new();
    private readonly CapturedLogs _logs = new();
    private FakePlatform _fake = null!;
    private ChatTestServer _server = null!;

    public async Task InitializeAsync()
    {
        _fake = await FakePlatform.StartAsync();
        _fake.AddOrder("2026112012345", "Sent", "SF1234567890", "SF Express");
        _server = await PluginEndToEndTests.StartHostAsync(_fake, logging => logging
            .AddProvider(_logs)
            .SetMinimumLevel(LogLevel.Trace)
            .AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning), chat => chat.AddPlugin<MessageLoggingPlugin>());
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
        await _fake.DisposeAsync();
    }

    [Fact]
    public async Task Logs_at_trace_level_hold_no_credentials_and_no_customer_data()
    {
        var agentToken = ChatTestServer.AgentToken("alice");
        await using var agent = _server.Agent("alice", token: agentToken);
        var inbox = new Received();
        var deliveries = new ConcurrentQueue<DeliveryEvent>();
        agent.MessageReceived += inbox.AddAsync;
        agent.DeliveryChanged += deliveries.Enqueue;
        await agent.StartAsync();

        // A customer on each platform, and one on the shop's web page with a signed visitor token.
        var weChat = WeChatTests.SafeModePush($"{{\"ToUserName\":\"gh_1\",\"FromUserName\":\"{OpenId}\",\"CreateTime\":1714037059,\"MsgType\":\"text\",\"Content\":\"{Contents[0]}\",\"MsgId\":777001}}");
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("wechat-miniprogram", weChat)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("wechat-miniprogram", weChat)).StatusCode); // WeChat's retry
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("douyin", DouyinTests.Push(DouyinTests.Receive(Contents[1], serverMessageId: "smid-private", from: DouyinUser), msgId: "push-private"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("webhook", WebhookChannelTests.Signed(
            new JsonObject { ["id"] = "generic-private-1", ["userId"] = GenericUser, ["userName"] = GenericName, ["content"] = Contents[2] }.ToJsonString(), at: DateTimeOffset.UtcNow))).StatusCode);
        var visitorToken = VisitorTokens.Create(ChatTestServer.VisitorKey, new VisitorIdentity("default", "web-customer-77", DateTimeOffset.UtcNow.AddHours(1)) { DisplayName = VisitorName });
        await using var visitor = _server.Customer("web-customer-77", token: visitorToken);
        await visitor.StartAsync();
        var web = await visitor.StartConversationAsync();
        await visitor.SendTextAsync(Contents[3]);
        var browserToken = ChatTestServer.VisitorToken("browser-customer-5");
        await BrowserConnectAsync(_server, browserToken); // a browser's WebSocket carries its token in the query string

        // Refused pushes: unsigned (its plain body names the customer), and a forged Douyin one.
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostAsync("wechat-miniprogram", WeChatTests.Post($"{{\"FromUserName\":\"{OpenId}\",\"MsgType\":\"text\",\"Content\":\"{Contents[0]}\"}}"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostAsync("douyin", DouyinTests.Push(DouyinTests.Receive(Contents[1], from: DouyinUser), signature: new string('0', 40)))).StatusCode);

        // The agent reads each conversation's history and the ERP panel, takes them and answers.
        var queue = await agent.GetQueueAsync();
        Assert.Equal(5, queue.Count);
        var read = 0;
        foreach (var conversation in queue)
        {
            read += (await agent.ResumeAsync(new ResumeRequest { ConversationId = conversation.Id })).Messages.Count;
            await agent.AcceptAsync(conversation.Id);
        }

        Assert.Equal(4, read); // the browser's conversation has none yet

        var weChatConversation = queue.Single(c => c.ChannelId == "wechat-miniprogram");
        var panel = await _server.RequestAsync(HttpMethod.Get, $"/chat/api/conversations/{weChatConversation.Id}/context", agentToken);
        Assert.Equal(HttpStatusCode.OK, panel.StatusCode);
        var replies = new[]
        {
            await agent.ReplyAsync(weChatConversation.Id, Contents[4]),
            await agent.ReplyAsync(web.Id, Contents[6]),
            await agent.ReplyAsync(queue.Single(c => c.ChannelId == "douyin").Id, Contents[7]),
        };
        await agent.NoteAsync(weChatConversation.Id, Contents[5]);
        await Eventually.TrueAsync(() => new[] { replies[0], replies[2] }.All(r => deliveries.Any(d => d.MessageId == r.Id && d.Status == DeliveryStatus.Sent)), "the replies at WeChat and Douyin");
        _fake.WeChatSendErrors.Enqueue(45015); // the reply window closed: this one fails for good, with WeChat's reason
        var late = await agent.ReplyAsync(weChatConversation.Id, Contents[4] + " again");
        await Eventually.TrueAsync(() => deliveries.Any(d => d.MessageId == late.Id && d.Status == DeliveryStatus.Failed), "the failed delivery");
        await inbox.WaitForAsync(weChatConversation.Id, 1, "the agent");

        var secrets = Contents.Concat(
        [
            OpenId, DouyinUser, GenericUser, VisitorName, GenericName, "小明",
            agentToken, visitorToken, browserToken, FakePlatform.WeChatSecret, WeChatTests.Key, _fake.WeChatCurrentToken, "dy-token-1",
            FakePlatform.DouyinClientSecret, FakePlatform.JstAppSecret, FakePlatform.JstAccessToken, FakePlatform.GenericSecret,
        ]).ToArray();
        var leaks = _logs.Entries.SelectMany(e => secrets.Where(s => e.Text.Contains(s, StringComparison.Ordinal)).Select(s => $"'{s}' in [{e.Category} {e.Level}] {e.Text}")).ToList();
        Assert.True(leaks.Count == 0, string.Join(Environment.NewLine, leaks));

        // The logs were written at those levels: the hub's invocations, the platforms' API calls, the runtime's work.
        var categories = _logs.Entries.Select(e => e.Category).ToHashSet();
        Assert.Contains(categories, c => c.StartsWith("Microsoft.AspNetCore.SignalR", StringComparison.Ordinal));
        Assert.Contains(categories, c => c.StartsWith("System.Net.Http.HttpClient", StringComparison.Ordinal));
        Assert.Contains(categories, c => c.StartsWith("Chat.", StringComparison.Ordinal));
        Assert.Contains(_logs.Entries, e => e.Level == LogLevel.Debug && e.Message.Contains("hub invocation", StringComparison.OrdinalIgnoreCase));
        var handled = _logs.Entries.Where(e => e.Category.EndsWith(nameof(MessageLoggingPlugin), StringComparison.Ordinal)).ToList();
        Assert.Equal(9, handled.Count); // four customers' messages (WeChat's retry is answered before the pipeline), four replies and a note
        Assert.All(handled, e => Assert.Contains("Content = (", e.Message, StringComparison.Ordinal)); // by its length
        Assert.DoesNotContain(_logs.Entries, e => e.EventId.Id == 56);
    }

    [Fact]
    public async Task A_host_that_logs_request_urls_is_warned_at_start_up_as_they_hold_browsers_tokens()
    {
        var logs = new CapturedLogs();
        await using var server = await PluginEndToEndTests.StartHostAsync(_fake, logging => logging.AddProvider(logs).SetMinimumLevel(LogLevel.Information));
        var warning = Assert.Single(logs.Entries, e => e.EventId.Id == 56);
        Assert.Equal((LogLevel.Warning, "Microsoft.AspNetCore.Hosting.Diagnostics"), (warning.Level, warning.Text.Split(" | ").Single(v => v.StartsWith("Category=", StringComparison.Ordinal))["Category=".Length..]));

        // Why: ASP.NET Core writes each request's URL with its query string, a browser's access token included.
        var token = ChatTestServer.VisitorToken("browser-customer-6");
        await BrowserConnectAsync(server, token);
        await Eventually.TrueAsync(() => logs.Entries.Any(e => e.Category == "Microsoft.AspNetCore.Hosting.Diagnostics" && e.Text.Contains(token, StringComparison.Ordinal)), "the token in the request log");
    }

    /// <summary>
    /// Connects to the customer hub as the official JavaScript client does in a browser, whose WebSocket cannot carry
    /// an Authorization header: the token in the <c>access_token</c> query parameter. Starts a conversation, then leaves.
    /// </summary>
    private static async Task BrowserConnectAsync(ChatTestServer server, string token)
    {
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        await socket.ConnectAsync(new Uri(server.Url.Replace("http://", "ws://", StringComparison.Ordinal) + "/chat/customer?access_token=" + Uri.EscapeDataString(token)), CancellationToken.None);
        const char End = '\u001e';
        foreach (var frame in new[] { "{\"protocol\":\"json\",\"version\":1}", "{\"type\":1,\"invocationId\":\"1\",\"target\":\"StartConversation\",\"arguments\":[]}" })
        {
            await socket.SendAsync(System.Text.Encoding.UTF8.GetBytes(frame + End), System.Net.WebSockets.WebSocketMessageType.Text, true, CancellationToken.None);
        }

        var received = new System.Text.StringBuilder();
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!received.ToString().Contains("\"invocationId\":\"1\"", StringComparison.Ordinal))
        {
            var result = await socket.ReceiveAsync(buffer, timeout.Token);
            received.Append(System.Text.Encoding.UTF8.GetString(buffer, 0, result.Count));
        }

        Assert.Contains("\"type\":3", received.ToString(), StringComparison.Ordinal); // the conversation, not an error
        Assert.DoesNotContain("\"error\"", received.ToString(), StringComparison.Ordinal);
        await socket.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
    }

    /// <summary>What a plugin's author may well write: a log line with the message it handles.</summary>
    private sealed class MessageLoggingPlugin(ILogger<MessageLoggingPlugin> logger) : IChannelPlugin
    {
        public int Priority => PluginPriority.Enrichment;

        public ValueTask OnMessageAsync(MessageContext context, CancellationToken cancellationToken)
        {
            logger.LogInformation("Handling {Message} from {Sender}", context.Message, context.Message.Sender);
            return ValueTask.CompletedTask;
        }
    }

    private Task<HttpResponseMessage> PostAsync(string channel, WebhookRequest request) => PluginEndToEndTests.PostAsync(_http, _server, channel, request);
}
