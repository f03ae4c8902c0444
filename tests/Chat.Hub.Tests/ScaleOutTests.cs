using Chat.Hub.Tests.Infrastructure;
using Chat.Protocol;

namespace Chat.Hub.Tests;

/// <summary>Two nodes sharing one real redis-server (the SignalR backplane) and one PostgreSQL.</summary>
public sealed class ScaleOutTests
{
    [Fact]
    public async Task A_customer_on_one_node_and_an_agent_on_another_chat_both_ways()
    {
        var storage = await TestStorage.CreateAsync(StoreKind.Postgres);
        var redis = RedisServer.Configuration;
        await using var nodeA = await ChatTestServer.StartAsync(storage, redis: redis);
        await using var nodeB = await ChatTestServer.StartAsync(storage, redis: redis);

        await using var customer = nodeA.Customer("c-scale");
        var customerInbox = new Received();
        customer.MessageReceived += customerInbox.AddAsync;
        await customer.StartAsync();
        var conversation = await customer.StartConversationAsync();

        await using var agent = nodeB.Agent("alice");
        var agentInbox = new Received();
        agent.MessageReceived += agentInbox.AddAsync;
        await agent.StartAsync();
        Assert.Contains(await agent.GetQueueAsync(), c => c.Id == conversation.Id); // the queue is shared through the database
        await agent.AcceptAsync(conversation.Id);

        var asked = await customer.SendTextAsync("hello from node A");
        await agentInbox.WaitForAsync(conversation.Id, 1, "the agent on node B");
        var answered = await agent.ReplyAsync(conversation.Id, "hello from node B");
        await customerInbox.WaitForAsync(conversation.Id, 2, "the customer on node A");
        Assert.Equal(["hello from node A", "hello from node B"], customerInbox.In(conversation.Id).Select(m => m.Content));

        // Each node leased its own id-generator worker number (bits 12 to 21 of every id it makes).
        static long Worker(long id) => (id >> 12) & 0x3FF;
        Assert.NotEqual(Worker(asked.Id), Worker(answered.Id));
    }
}
