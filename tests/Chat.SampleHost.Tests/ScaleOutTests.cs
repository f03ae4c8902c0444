using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Chat.Client;
using Chat.Hub.Tests.Infrastructure;
using Chat.Protocol;
using Chat.Storage.Tests.Infrastructure;

namespace Chat.SampleHost.Tests;

/// <summary>
/// The sample host switched by configuration alone to PostgreSQL and the Redis backplane: two of them share one
/// database and one redis-server, a customer on the first and a signed-in demo agent on the second chat both ways.
/// </summary>
public sealed class ScaleOutTests
{
    [Fact]
    public async Task Two_sample_hosts_on_PostgreSQL_and_Redis_carry_one_conversation_across_nodes()
    {
        var (database, _) = await PostgresServer.CreateDatabaseAsync();
        var key = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        Dictionary<string, string> Settings() => new()
        {
            ["Chat__Storage__Provider"] = "Postgres",
            ["Chat__Storage__Postgres__ConnectionString"] = database,
            ["Chat__Redis"] = RedisServer.Configuration,
            ["Chat__Hub__VisitorTokenKeys__0"] = key,
        };
        await using var nodeA = await SampleHostProcess.StartAsync(Settings());
        await using var nodeB = await SampleHostProcess.StartAsync(Settings());

        // The agent signs in on node B (the demo cookie) and goes online.
        using var cookies = new HttpClientHandler { CookieContainer = new CookieContainer() };
        using var http = new HttpClient(cookies) { BaseAddress = nodeB.BaseAddress };
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsJsonAsync("/demo/login", new { id = "alice", password = "alice" })).StatusCode);
        var cookie = cookies.CookieContainer.GetCookieHeader(nodeB.BaseAddress);
        await using var agent = new AgentChatClient(new ChatClientOptions
        {
            HubUrl = new Uri(nodeB.BaseAddress, "chat/agent"),
            ConfigureHttpConnection = o => o.Headers["Cookie"] = cookie,
        });
        var agentInbox = new System.Collections.Concurrent.ConcurrentQueue<ChatMessage>();
        agent.MessageReceived += m => { agentInbox.Enqueue(m); return Task.CompletedTask; };
        await agent.StartAsync();
        await agent.SetPresenceAsync(AgentPresence.Online, 5);

        // The customer takes an anonymous visitor token from node A and writes there.
        var visitor = await (await nodeA.Client.PostAsync("/chat/visitor-token", null)).Content.ReadFromJsonAsync<JsonElement>();
        await using var customer = new CustomerChatClient(new ChatClientOptions
        {
            HubUrl = new Uri(nodeA.BaseAddress, "chat/customer"),
            AccessTokenProvider = () => Task.FromResult<string?>(visitor.GetProperty("token").GetString()),
        });
        var customerInbox = new System.Collections.Concurrent.ConcurrentQueue<ChatMessage>();
        customer.MessageReceived += m => { customerInbox.Enqueue(m); return Task.CompletedTask; };
        await customer.StartAsync();
        var conversation = await customer.StartConversationAsync();
        await customer.SendTextAsync("hello from node A");
        await WaitAsync(() => agentInbox.Any(m => m.Content == "hello from node A"), "the agent on node B to get the message");

        await agent.AcceptAsync(conversation.Id);
        await agent.ReplyAsync(conversation.Id, "hello from node B");
        await WaitAsync(() => customerInbox.Any(m => m.Content == "hello from node B"), "the customer on node A to get the reply");

        // Both nodes leased id-generator worker numbers from the shared database, different ones.
        static string Worker(string output) => System.Text.RegularExpressions.Regex.Match(output, @"Leased id-generator worker number (\d+)").Groups[1].Value;
        Assert.NotEqual("", Worker(nodeA.Output));
        Assert.NotEqual("", Worker(nodeB.Output));
        Assert.NotEqual(Worker(nodeA.Output), Worker(nodeB.Output));
    }

    private static async Task WaitAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Timed out waiting for " + what);
            }

            await Task.Delay(50);
        }
    }
}
