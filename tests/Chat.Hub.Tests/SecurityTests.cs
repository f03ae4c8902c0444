using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Chat.Hub.Tests.Infrastructure;
using Chat.Protocol;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.Hub.Tests;

/// <summary>Every way in, tried as an attacker would: tokens, other people's conversations, origins, sizes, rates, bad input.</summary>
public sealed class SecurityTests : IAsyncLifetime
{
    private ChatTestServer _server = null!;
    private readonly HttpClient _http = new();

    public async Task InitializeAsync() =>
        _server = await ChatTestServer.StartAsync(await TestStorage.CreateAsync(StoreKind.Sqlite), o => (o.CallsPerSecond, o.CallBurst) = (5, 10));

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    [Theory]
    [InlineData("none")]
    [InlineData("garbage")]
    [InlineData("tampered")]
    [InlineData("expired")]
    [InlineData("other-key")]
    [InlineData("agent-jwt")]
    public async Task The_customer_hub_refuses_a_missing_or_bad_visitor_token(string which)
    {
        var valid = ChatTestServer.VisitorToken("c-1");
        var token = which switch
        {
            "none" => null,
            "garbage" => "v1.not-a-token",
            "tampered" => valid[..^2] + (valid[^2] == 'A' ? "BA" : "AA"),
            "expired" => ChatTestServer.VisitorToken("c-1", lifetime: TimeSpan.FromSeconds(-5)),
            "other-key" => Security.VisitorTokens.Create(new byte[32], new Security.VisitorIdentity("default", "c-1", DateTimeOffset.UtcNow.AddHours(1))),
            _ => ChatTestServer.AgentToken("alice"),
        };
        Assert.Equal(HttpStatusCode.Unauthorized, (await NegotiateAsync("/chat/customer", token)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await NegotiateAsync("/chat/customer", valid)).StatusCode);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("visitor")]
    [InlineData("wrong-key")]
    [InlineData("expired")]
    public async Task The_agent_hub_and_rest_refuse_customers_and_bad_tokens(string which)
    {
        var token = which switch
        {
            "none" => null,
            "visitor" => ChatTestServer.VisitorToken("c-1"),
            "wrong-key" => ChatTestServer.AgentToken("alice", key: new byte[64]),
            _ => ChatTestServer.AgentToken("alice", expires: DateTime.UtcNow.AddMinutes(-10)),
        };
        Assert.Equal(HttpStatusCode.Unauthorized, (await NegotiateAsync("/chat/agent", token)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync("/chat/api/conversations", token)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await NegotiateAsync("/chat/agent", ChatTestServer.AgentToken("alice"))).StatusCode);
    }

    [Fact]
    public async Task A_customer_cannot_read_or_write_another_customers_conversation()
    {
        await using var victim = _server.Customer("victim");
        await victim.StartAsync();
        var conversation = await victim.StartConversationAsync();
        await victim.SendTextAsync("my address is ...");

        await using var attacker = _server.Customer("attacker");
        await attacker.StartAsync();
        await attacker.StartConversationAsync();
        var send = await Assert.ThrowsAsync<HubException>(() => attacker.SendAsync(new SendRequest { ConversationId = conversation.Id, ClientMessageId = "x", Content = "hi" }));
        Assert.Contains($"Conversation {conversation.Id} was not found", send.Message);
        var read = await Assert.ThrowsAsync<HubException>(() => attacker.ResumeAsync(new ResumeRequest { ConversationId = conversation.Id }));
        Assert.Contains("was not found", read.Message);
        await Assert.ThrowsAsync<HubException>(() => attacker.Connection.InvokeAsync(ChatHubMethods.Typing, conversation.Id));

        // The same customer id in another tenant is another person.
        await using var otherTenant = _server.Customer("victim", tenant: "other-shop");
        await otherTenant.StartAsync();
        await Assert.ThrowsAsync<HubException>(() => otherTenant.ResumeAsync(new ResumeRequest { ConversationId = conversation.Id }));

        // And a customer connection has no agent operation at all.
        var agentCall = await Assert.ThrowsAsync<HubException>(() => attacker.Connection.InvokeAsync<Conversation>(ChatHubMethods.Accept, conversation.Id));
        Assert.Contains("Accept", agentCall.Message);
    }

    [Fact]
    public async Task An_agent_sees_and_touches_only_their_own_tenant()
    {
        await using var customer = _server.Customer("c-tenant");
        await customer.StartAsync();
        var conversation = await customer.StartConversationAsync();

        await using var outsider = _server.Agent("mallory", tenant: "other-shop");
        var heard = new Received();
        outsider.MessageReceived += heard.AddAsync;
        await outsider.StartAsync();
        await customer.SendTextAsync("private matter");
        foreach (var call in new Func<Task>[]
        {
            () => outsider.AcceptAsync(conversation.Id),
            () => outsider.ResumeAsync(new ResumeRequest { ConversationId = conversation.Id }),
            () => outsider.ReplyAsync(conversation.Id, "hello from another shop"),
            () => outsider.ResolveAsync(conversation.Id),
        })
        {
            var refused = await Assert.ThrowsAsync<HubException>(call);
            Assert.Contains("was not found", refused.Message);
        }

        Assert.Empty(await outsider.GetQueueAsync());
        var rest = await GetAsync($"/chat/api/conversations/{conversation.Id}/messages", ChatTestServer.AgentToken("mallory", "other-shop"));
        Assert.Equal(HttpStatusCode.NotFound, rest.StatusCode);
        await Task.Delay(200);
        Assert.Empty(heard.Messages);
    }

    [Fact]
    public async Task Browser_connections_from_foreign_origins_are_refused_with_the_reason()
    {
        var token = ChatTestServer.VisitorToken("c-origin");
        var evil = await NegotiateAsync("/chat/customer", token, origin: "https://evil.example");
        Assert.Equal(HttpStatusCode.Forbidden, evil.StatusCode);
        Assert.Contains("Origin 'https://evil.example' is not allowed", await evil.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Forbidden, (await NegotiateAsync("/chat/agent", ChatTestServer.AgentToken("alice"), origin: "https://evil.example")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await NegotiateAsync("/chat/customer", token, origin: ChatTestServer.AllowedOrigin)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await NegotiateAsync("/chat/customer", token, origin: _server.Url)).StatusCode); // same origin
        Assert.Equal(HttpStatusCode.OK, (await NegotiateAsync("/chat/customer", token)).StatusCode); // no Origin: not a browser
    }

    [Fact]
    public async Task Oversized_malformed_and_too_fast_input_get_clear_errors_and_lose_nothing()
    {
        await using var customer = _server.Customer("c-limits");
        await customer.StartAsync();
        var conversation = await customer.StartConversationAsync();
        var kept = await customer.SendTextAsync("accepted before the bad input");

        var tooLong = await Assert.ThrowsAsync<HubException>(() => customer.SendTextAsync(new string('x', 4001)));
        Assert.Contains("Content is 4001 characters; the most is 4000", tooLong.Message);
        var noId = await Assert.ThrowsAsync<HubException>(() => customer.SendAsync(new SendRequest { ConversationId = conversation.Id, Content = "x" }));
        Assert.Contains("ClientMessageId is required", noId.Message);
        var empty = await Assert.ThrowsAsync<HubException>(() => customer.SendAsync(new SendRequest { ConversationId = conversation.Id, ClientMessageId = "e", Content = " " }));
        Assert.Contains("Content is empty", empty.Message);
        var card = await Assert.ThrowsAsync<HubException>(() => customer.SendAsync(new SendRequest { ConversationId = conversation.Id, ClientMessageId = "c", Kind = MessageKind.Card, Content = "{}" }));
        Assert.Contains("Kind Card cannot be sent by a customer", card.Message);
        var limit = await Assert.ThrowsAsync<HubException>(() => customer.ResumeAsync(new ResumeRequest { ConversationId = conversation.Id, Limit = 0 }));
        Assert.Contains("Limit is 0", limit.Message);

        // Rate: the bucket holds 10 calls and refills 5 a second; a flood is refused with the reason.
        var refused = 0;
        for (var i = 0; i < 30; i++)
        {
            try
            {
                await customer.TypingAsync();
            }
            catch (HubException ex) when (ex.Message.Contains("Rate limit", StringComparison.Ordinal))
            {
                refused++;
            }
        }

        Assert.InRange(refused, 15, 30);

        // A frame over the hub's size limit closes that connection; what was stored before stays.
        var closed = new TaskCompletionSource<Exception?>();
        customer.Connection.Closed += ex => { closed.TrySetResult(ex); return Task.CompletedTask; };
        customer.Connection.Reconnecting += ex => { closed.TrySetResult(ex); return Task.CompletedTask; }; // the client reconnects by itself
        await Task.Delay(2500); // let the rate bucket refill
        _ = customer.Connection.InvokeAsync<SendResult>(ChatHubMethods.Send, new SendRequest { ConversationId = conversation.Id, ClientMessageId = "huge", Content = new string('y', 70_000) });
        await Task.WhenAny(closed.Task, Task.Delay(10_000));
        Assert.True(closed.Task.IsCompleted, "an oversized frame did not end the connection");

        await using var again = _server.Customer("c-limits");
        await again.StartAsync();
        await again.StartConversationAsync();
        var history = await again.ResumeAsync(new ResumeRequest { ConversationId = conversation.Id });
        Assert.Equal([kept.Seq], history.Messages.Select(m => m.Seq));
    }

    [Fact]
    public async Task Anonymous_visitor_tokens_are_issued_when_enabled_and_work()
    {
        var response = await _http.PostAsync(_server.Url + "/chat/visitor-token", null);
        response.EnsureSuccessStatusCode();
        var issued = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var token = issued.GetProperty("token").GetString()!;
        Assert.StartsWith("anon-", issued.GetProperty("customerId").GetString(), StringComparison.Ordinal);
        await using var visitor = _server.Customer("ignored", token: token);
        await visitor.StartAsync();
        var conversation = await visitor.StartConversationAsync();
        Assert.Equal(1, (await visitor.SendTextAsync("hi")).Seq);
        Assert.Equal("web", conversation.ChannelId);

        await using var closed = await ChatTestServer.StartAsync(await TestStorage.CreateAsync(StoreKind.Sqlite), o => o.AllowAnonymousVisitors = false);
        var refused = await _http.PostAsync(closed.Url + "/chat/visitor-token", null);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("Anonymous visitors are not enabled", await refused.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Agents_read_lists_and_history_over_rest()
    {
        await using var customer = _server.Customer("c-rest");
        await customer.StartAsync();
        var conversation = await customer.StartConversationAsync();
        await customer.SendTextAsync("one");
        await customer.SendTextAsync("two");
        var token = ChatTestServer.AgentToken("alice");

        var list = await GetAsync("/chat/api/conversations?status=Queued", token);
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.Contains(conversation.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), await list.Content.ReadAsStringAsync());
        var history = await GetAsync($"/chat/api/conversations/{conversation.Id}/messages?after=1", token);
        var page = System.Text.Json.JsonDocument.Parse(await history.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(["two"], page.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("content").GetString()));
        Assert.Equal(HttpStatusCode.BadRequest, (await GetAsync("/chat/api/conversations?limit=5000", token)).StatusCode);

        // Pages: the next from the last one's updatedAt and id, on REST as on the hub.
        await using var second = _server.Customer("c-rest-2");
        await second.StartAsync();
        var newer = await second.StartConversationAsync();
        await second.SendTextAsync("three");
        var first = System.Text.Json.JsonDocument.Parse(await (await GetAsync("/chat/api/conversations?limit=1", token)).Content.ReadAsStringAsync()).RootElement;
        var head = Assert.Single(first.EnumerateArray().ToList());
        Assert.Equal(newer.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), head.GetProperty("id").GetString());
        var before = Uri.EscapeDataString(head.GetProperty("updatedAt").GetString()!);
        var next = await GetAsync($"/chat/api/conversations?limit=1&before={before}&beforeId={newer.Id}", token);
        var rest = System.Text.Json.JsonDocument.Parse(await next.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(conversation.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), Assert.Single(rest.EnumerateArray().ToList()).GetProperty("id").GetString());
        await using var agent = _server.Agent("alice");
        await agent.StartAsync();
        var onHub = await agent.ListConversationsPageAsync(new ConversationListRequest { Limit = 1 });
        Assert.Equal(newer.Id, Assert.Single(onHub).Id);
        onHub = await agent.ListConversationsPageAsync(new ConversationListRequest { Limit = 1, After = ConversationCursor.After(onHub[0]) });
        Assert.Equal(conversation.Id, Assert.Single(onHub).Id);

        // A cursor half given, or not a time, is refused with its reason; so is a page size out of range on the hub.
        var half = await GetAsync($"/chat/api/conversations?before={before}", token);
        Assert.Equal(HttpStatusCode.BadRequest, half.StatusCode);
        Assert.Contains("before and beforeId go together", await half.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, (await GetAsync("/chat/api/conversations?before=yesterday&beforeId=1", token)).StatusCode);
        var refused = await Assert.ThrowsAsync<HubException>(() => agent.ListConversationsPageAsync(new ConversationListRequest { Limit = 0 }));
        Assert.Contains("Limit is 0; it must be 1 to 1000", refused.Message);
    }

    [Fact]
    public async Task The_host_replaces_the_agent_policy_with_its_own()
    {
        // The shop lets only agents whose sign-in carries role=agent in; the framework's default policy gives way.
        await using var strict = await ChatTestServer.StartAsync(await TestStorage.CreateAsync(StoreKind.Sqlite),
            chat: c => c.Services.AddAuthorization(o => o.AddPolicy(Security.ChatAuthentication.AgentPolicy, p => p.RequireClaim("role", "agent"))));
        var withoutRole = ChatTestServer.AgentToken("alice");
        var request = new HttpRequestMessage(HttpMethod.Post, strict.Url + "/chat/agent/negotiate?negotiateVersion=1");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", withoutRole);
        Assert.Equal(HttpStatusCode.Forbidden, (await _http.SendAsync(request)).StatusCode);

        var withRole = Chat.TestSupport.TestAgentJwt.Create(ChatTestServer.AgentKey, "alice", "default", extraClaims: [("role", "agent")]);
        request = new HttpRequestMessage(HttpMethod.Post, strict.Url + "/chat/agent/negotiate?negotiateVersion=1");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", withRole);
        Assert.Equal(HttpStatusCode.OK, (await _http.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task A_host_without_agent_sign_in_answers_401_on_the_agent_hub()
    {
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddChat().AddSqliteStorage(Path.Combine(Directory.CreateTempSubdirectory("chat-noauth-").FullName, "chat.db")).AddHub();
        await using var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapChat("/chat");
        await app.StartAsync();
        var url = app.Urls.First();
        var response = await _http.PostAsync(url + "/chat/agent/negotiate?negotiateVersion=1", null);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        await app.StopAsync();
    }

    private Task<HttpResponseMessage> NegotiateAsync(string hub, string? token, string? origin = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, _server.Url + hub + "/negotiate?negotiateVersion=1");
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        return _http.SendAsync(request);
    }

    private Task<HttpResponseMessage> GetAsync(string path, string? token) => _server.RequestAsync(HttpMethod.Get, path, token);
}
