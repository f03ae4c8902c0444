using Chat.Client;
using Chat.Hub.Tests.Infrastructure;
using Chat.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Chat.Hub.Tests;

/// <summary>Two nodes sharing one real redis-server and one PostgreSQL.</summary>
public sealed class ScaleOutTests
{
    [Fact]
    public async Task A_customer_on_one_node_and_an_agent_on_another_chat_both_ways()
    {
        var storage = await TestStorage.CreateAsync(StoreKind.Postgres);
        var redis = RedisServer.Configuration;
        await using var nodeA = await ChatTestServer.StartAsync(storage, redis: redis);
        await using var nodeB = await ChatTestServer.StartAsync(storage, redis: redis);

        var heard = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var pair = await CustomerAndAgentAsync(nodeA, nodeB, "c-scale", agent =>
        {
            agent.TypingReceived += e => heard.Enqueue($"typing {e.SenderKind} {e.ConversationId}");
            agent.ReadReceived += e => heard.Enqueue($"read {e.ReaderKind} {e.ConversationId} {e.Seq}");
        });
        var (customer, customerInbox, conversation, agent, agentInbox) = pair;
        await using var bob = nodeA.Agent("bob");
        var bobSaw = new System.Collections.Concurrent.ConcurrentQueue<Conversation>();
        bob.ConversationChanged += bobSaw.Enqueue;
        var bobHeard = new System.Collections.Concurrent.ConcurrentQueue<string>();
        bob.TypingReceived += e => bobHeard.Enqueue($"typing {e.SenderKind} {e.ConversationId}");
        await bob.StartAsync();
        Assert.Contains(await agent.GetQueueAsync(), c => c.Id == conversation.Id); // the queue is shared through the database
        await agent.AcceptAsync(conversation.Id);
        // alice accepted on node B; bob, on node A, hears of it through the agents' feed.
        await Eventually.TrueAsync(() => bobSaw.Any(c => c.Id == conversation.Id && c.AssigneeId == "alice"), "bob on node A to hear that alice took the conversation");
        await bob.WatchAsync(conversation.Id); // bob opens it too: he hears it on node A as alice, its agent, does on node B

        var asked = await customer.SendTextAsync("hello from node A");
        await agentInbox.WaitForAsync(conversation.Id, 1, "the agent on node B");
        var answered = await agent.ReplyAsync(conversation.Id, "hello from node B");
        await customerInbox.WaitForAsync(conversation.Id, 2, "the customer on node A");
        Assert.Equal(["hello from node A", "hello from node B"], customerInbox.In(conversation.Id).Select(m => m.Content));

        // What no node of this version sent on the tenant's feed channel (a push of a method it does not know, a
        // payload of the wrong shape, bytes that are not JSON) is logged and dropped; the feed goes on.
        // The same for the customers' channel.
        await using (var redisClient = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(
            StackExchange.Redis.ConfigurationOptions.Parse($"{redis},channelPrefix=chat")))
        {
            foreach (var name in new[] { "Chat.AgentFeed:", "Chat.Customers:" })
            {
                var channel = StackExchange.Redis.RedisChannel.Literal(name + conversation.TenantId);
                var subscriber = redisClient.GetSubscriber();
                // (The conversation's own id, so that the customer's node reads them rather than passing them by.)
                var c = conversation.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
                Assert.True(await subscriber.PublishAsync(channel, """{"n":"other-node","m":"SomethingNew","c":""" + c + ""","x":null,"p":{}}""") >= 1);
                await subscriber.PublishAsync(channel, """{"n":"other-node","m":"TypingReceived","c":""" + c + ""","x":null,"p":[1,2]}""");
                await subscriber.PublishAsync(channel, "not json");
                await subscriber.PublishAsync(channel, """{"m":"TypingReceived"}""");
            }
        }

        // The customer's typing and read receipt on node A reach alice on node B, in order.
        await customer.TypingAsync();
        await customer.MarkReadAsync(2);
        await Eventually.TrueAsync(() => heard.Count >= 2, "alice on node B to hear the customer type and read");
        Assert.Equal([$"typing Customer {conversation.Id}", $"read Customer {conversation.Id} 2"], heard);
        // bob, on the customer's node, heard it once: a node does not pass on what it got from another.
        await Task.Delay(300);
        Assert.Equal([$"typing Customer {conversation.Id}"], bobHeard);

        // ... and alice's typing on node B reaches the customer on node A, after everything before it.
        var customerHeard = new System.Collections.Concurrent.ConcurrentQueue<string>();
        customer.TypingReceived += e => customerHeard.Enqueue($"typing {e.SenderKind}");
        await agent.TypingAsync(conversation.Id);
        await agent.ReplyAsync(conversation.Id, "and once more");
        await customerInbox.WaitForAsync(conversation.Id, 3, "the customer on node A, after the channel's unreadable pushes");
        Assert.Equal(["typing Agent"], customerHeard);

        // Each node leased its own id-generator worker number (bits 12 to 21 of every id it makes).
        static long Worker(long id) => (id >> 12) & 0x3FF;
        Assert.NotEqual(Worker(asked.Id), Worker(answered.Id));
    }

    [Fact]
    public async Task An_agent_connection_gone_dark_holds_up_neither_the_senders_nor_the_other_agents_on_its_node()
    {
        var storage = await TestStorage.CreateAsync(StoreKind.Postgres);
        await using var nodeA = await ChatTestServer.StartAsync(storage, HubTests.DarkAgentOptions, redis: RedisServer.Configuration, chat: HubTests.DarkAgentTimeouts);
        await using var nodeB = await ChatTestServer.StartAsync(storage, HubTests.DarkAgentOptions, redis: RedisServer.Configuration, chat: HubTests.DarkAgentTimeouts);
        await HubTests.AgentGoneDarkAsync(customers: nodeA, agents: nodeB);
    }

    [Fact]
    public async Task A_customer_connection_that_reads_nothing_is_closed_by_its_own_node_and_the_other_device_on_another_node_gets_everything()
    {
        // The phone is on node B, the laptop and alice on node A: node B writes alice's replies to the phone itself,
        // bounded, and its closing the phone holds up nobody.
        var storage = await TestStorage.CreateAsync(StoreKind.Postgres);
        var nodeA = await ChatTestServer.StartAsync(storage, HubTests.NoReaderOptions, redis: RedisServer.Configuration, chat: HubTests.CustomerTimeouts);
        var nodeB = await ChatTestServer.StartAsync(storage, HubTests.NoReaderOptions, redis: RedisServer.Configuration, chat: HubTests.CustomerTimeouts);
        await using var devices = await HubTests.TwoDevicesAsync(nodeA, nodeB, "c-no-reader-scale");
        await HubTests.NoReaderIsClosedAndCatchesUpAsync(devices);
    }

    [Fact]
    public async Task A_platform_retry_on_another_node_while_its_original_is_in_the_pipeline_waits_for_it_and_the_plugins_see_it_once()
    {
        await using var nodes = await StartWebhookNodesAsync();
        var (nodeA, nodeB) = nodes;
        using var http = new HttpClient();

        // The original takes a second in the pipeline on node A (an ERP lookup); the platform's retry reaches node B
        // meanwhile, waits for the original, and is answered once it is stored.
        var slow = """{"user":"openid-scale-1","id":"pm-scale-slow","text":"slow"}""";
        var original = WebhookTests.PostAsync(http, nodeA, slow);
        await Task.Delay(300);
        var retry = await WebhookTests.PostAsync(http, nodeB, slow);
        Assert.Equal((System.Net.HttpStatusCode.OK, "success"), (retry.StatusCode, await retry.Content.ReadAsStringAsync()));
        Assert.Equal(System.Net.HttpStatusCode.OK, (await original).StatusCode);
        Assert.Single(SeenByPipeline.PlatformMessageIds, "pm-scale-slow");

        // The platform hangs up on node A while the original is in its pipeline, and its retry is on node B: the
        // original lets go of its claim as it fails, and the retry stores the message. The retry goes once node A's
        // pipeline has the original (not after a fixed time: a busy machine may take longer to get there), and the
        // original takes three seconds there, so the hang-up comes while it is still in the pipeline on a busy machine too.
        var dropped = """{"user":"openid-scale-1","id":"pm-scale-dropped","text":"slower"}""";
        using var hangUp = new CancellationTokenSource();
        var abandoned = WebhookTests.PostAsync(http, nodeA, dropped, hangUp.Token);
        await Eventually.TrueAsync(() => SeenByPipeline.PlatformMessageIds.Contains("pm-scale-dropped"), "node A's pipeline to have the original");
        var retrying = WebhookTests.PostAsync(http, nodeB, dropped);
        hangUp.CancelAfter(TimeSpan.FromMilliseconds(250));
        var stored = await retrying;
        Assert.Equal((System.Net.HttpStatusCode.OK, "success"), (stored.StatusCode, await stored.Content.ReadAsStringAsync()));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        Assert.Equal(2, SeenByPipeline.PlatformMessageIds.Count(id => id == "pm-scale-dropped")); // node A began it, node B ran it

        // Each is stored once.
        Assert.Equal(["pm-scale-slow", "pm-scale-dropped"], await StoredPushesAsync(nodeA));
    }

    [Fact]
    public async Task A_platform_user_erased_on_another_node_starts_afresh_with_their_next_push()
    {
        // Node A keeps the contact and conversation of a platform user who wrote through it; the contact is erased on
        // node B, which tells node A to forget them.
        using var logs = new CapturedLogs();
        await using var nodes = await StartWebhookNodesAsync(logs);
        var (nodeA, nodeB) = nodes;
        using var http = new HttpClient();
        Assert.Equal(System.Net.HttpStatusCode.OK, (await WebhookTests.PostAsync(http, nodeA, """{"user":"openid-scale-erased","id":"pm-scale-erased-1","text":"my phone is 13800000000"}""")).StatusCode);
        await using var alice = nodeB.Agent("alice");
        await alice.StartAsync();
        var before = Assert.Single(await alice.GetQueueAsync(), c => c.ChannelId == "test-channel");
        Assert.True(Keeps(nodeA, "openid-scale-erased"));
        var officer = ChatTestServer.StaffToken("olga", Security.ChatAuthentication.PrivacyRole, "default");
        // Something on the channel that is not a change (another program, another version) is skipped, and the next read.
        await using (var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"{RedisServer.Configuration},channelPrefix=chat"))
        {
            await redis.GetSubscriber().PublishAsync(StackExchange.Redis.RedisChannel.Literal("Chat.InboundContacts"), """{"n":"another-node","c":1}""");
        }

        Assert.Equal(System.Net.HttpStatusCode.OK, (await nodeB.RequestAsync(HttpMethod.Delete, $"/chat/api/contacts/{before.ContactId}", officer)).StatusCode);
        await ForgottenAsync(nodeA, "openid-scale-erased");
        Assert.Contains(logs.Entries, e => e.EventId.Id == 66 && e.Level == LogLevel.Warning);

        var next = await WebhookTests.PostAsync(http, nodeA, """{"user":"openid-scale-erased","id":"pm-scale-erased-2","text":"hello again"}""");
        Assert.Equal((System.Net.HttpStatusCode.OK, "success"), (next.StatusCode, await next.Content.ReadAsStringAsync()));
        var after = Assert.Single(await alice.GetQueueAsync(), c => c.ChannelId == "test-channel");
        Assert.NotEqual(before.ContactId, after.ContactId);
        Assert.Equal(["pm-scale-erased-2"], await StoredPushesAsync(nodeA));
        Assert.Single(SeenByPipeline.PlatformMessageIds, "pm-scale-erased-2"); // forgotten before it came: the plugins saw it once

        // Erased where no node says so (straight through the store, as retention erases inactive contacts): node A's
        // append finds out, and the message goes to the customer's new conversation.
        await nodeB.Services.GetRequiredService<Storage.IContactEraser>().EraseContactAsync("default", after.ContactId, CancellationToken.None);
        Assert.True(Keeps(nodeA, "openid-scale-erased"));
        var third = await WebhookTests.PostAsync(http, nodeA, """{"user":"openid-scale-erased","id":"pm-scale-erased-3","text":"me again"}""");
        Assert.Equal((System.Net.HttpStatusCode.OK, "success"), (third.StatusCode, await third.Content.ReadAsStringAsync()));
        var last = Assert.Single(await alice.GetQueueAsync(), c => c.ChannelId == "test-channel");
        Assert.NotEqual(after.ContactId, last.ContactId);
        Assert.Equal(["pm-scale-erased-3"], await StoredPushesAsync(nodeA));
    }

    [Fact]
    public async Task The_plugins_on_every_node_get_a_platform_users_conversation_as_any_node_last_changed_it()
    {
        // Node A keeps the conversation of a platform user who wrote through it; alice accepts it on node B. Node A's
        // plugins get the next push with the conversation as it is now: open, alice's (an auto-reply stays quiet).
        await using var nodes = await StartWebhookNodesAsync();
        var (nodeA, nodeB) = nodes;
        using var http = new HttpClient();
        Assert.Equal(System.Net.HttpStatusCode.OK, (await WebhookTests.PostAsync(http, nodeA, """{"user":"openid-scale-kept","id":"pm-scale-kept-1","text":"hello"}""")).StatusCode);
        await using var alice = nodeB.Agent("alice");
        await alice.StartAsync();
        var conversation = Assert.Single(await alice.GetQueueAsync(), c => c.ChannelId == "test-channel");
        Assert.True(Keeps(nodeA, "openid-scale-kept"));
        await alice.AcceptAsync(conversation.Id);
        await ForgottenAsync(nodeA, "openid-scale-kept");

        Assert.Equal(System.Net.HttpStatusCode.OK, (await WebhookTests.PostAsync(http, nodeA, """{"user":"openid-scale-kept","id":"pm-scale-kept-2","text":"are you there?"}""")).StatusCode);
        Assert.Equal((ConversationStatus.Queued, null), (SeenByPipeline.Conversations["pm-scale-kept-1"].Status, SeenByPipeline.Conversations["pm-scale-kept-1"].AssigneeId));
        Assert.Equal((ConversationStatus.Open, "alice"), (SeenByPipeline.Conversations["pm-scale-kept-2"].Status, SeenByPipeline.Conversations["pm-scale-kept-2"].AssigneeId));
    }

    /// <summary>Whether a node keeps the contact and conversation of a platform user of the test channel.</summary>
    private static bool Keeps(ChatTestServer node, string platformUserId) =>
        node.Services.GetRequiredService<Services.RecentInboundContacts>().Find("default", new ChannelIdentity("test-channel", platformUserId)) is not null;

    /// <summary>Waits for a node to forget a platform user of the test channel, as another node told it.</summary>
    private static Task ForgottenAsync(ChatTestServer node, string platformUserId) =>
        Eventually.TrueAsync(() => !Keeps(node, platformUserId), $"the node to forget {platformUserId}, as another node told it", timeoutMs: 5_000);

    [Fact]
    public async Task A_claim_is_kept_while_its_push_is_on_its_way_and_a_dead_nodes_claim_expires()
    {
        await using var nodes = await StartWebhookNodesAsync();
        var (nodeA, nodeB) = nodes;
        // Claims that outlive their holder by a second (renewed every third of it, so a busy machine's stall of half a
        // second loses nothing): the slower push (three seconds in the pipeline) outlasts that three times.
        nodeA.Services.GetRequiredService<Services.InboundClaims>().Lifetime = TimeSpan.FromSeconds(1);
        using var http = new HttpClient();

        // Node A renews its claim while the push is in its pipeline, so the retry on node B still waits for it.
        var slow = """{"user":"openid-scale-2","id":"pm-scale-renewed","text":"slower"}""";
        var original = WebhookTests.PostAsync(http, nodeA, slow);
        await Task.Delay(200);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await WebhookTests.PostAsync(http, nodeB, slow)).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await original).StatusCode);
        Assert.Single(SeenByPipeline.PlatformMessageIds, "pm-scale-renewed");

        // A node died holding a claim (nothing renews it, nothing lets go): the retry waits for it to expire, then
        // stores the push itself.
        await using (var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(RedisServer.Configuration))
        {
            Assert.True(await redis.GetDatabase().LockTakeAsync(Services.InboundClaims.Key("default", "test-channel", "pm-scale-orphan"), "a-dead-node:1", TimeSpan.FromMilliseconds(500)));
        }

        var orphan = await WebhookTests.PostAsync(http, nodeB, """{"user":"openid-scale-2","id":"pm-scale-orphan","text":"hello"}""");
        Assert.Equal((System.Net.HttpStatusCode.OK, "success"), (orphan.StatusCode, await orphan.Content.ReadAsStringAsync()));
        Assert.Single(SeenByPipeline.PlatformMessageIds, "pm-scale-orphan");

        Assert.Equal(["pm-scale-renewed", "pm-scale-orphan"], await StoredPushesAsync(nodeA));
    }

    [Fact]
    public async Task After_redis_drops_every_connection_the_customers_and_agents_get_what_they_missed_without_another_message_and_hear_each_other_again()
    {
        // Redis restarts (or fails over) under the nodes: every connection to it is reset.
        var storage = await TestStorage.CreateAsync(StoreKind.Postgres);
        await using var proxy = new TcpFaultProxy("http://" + RedisServer.Configuration);
        var redis = $"127.0.0.1:{new Uri(proxy.Url).Port}";
        await using var nodeA = await ChatTestServer.StartAsync(storage, redis: redis);
        await using var nodeB = await ChatTestServer.StartAsync(storage, redis: redis);

        await using var pair = await CustomerAndAgentAsync(nodeA, nodeB, "c-redis-restart");
        var (customer, customerInbox, conversation, agent, agentInbox) = pair;
        await agent.AcceptAsync(conversation.Id);
        await customer.SendTextAsync("before");
        await agentInbox.WaitForAsync(conversation.Id, 1, "the agent on node B, before Redis went");

        Assert.True(proxy.CutAll() > 0);
        // What each side sends while the nodes reconnect is stored; its push to the other node may be lost with the
        // connections (Redis keeps no pub/sub message). Once its link is back each node tells its clients, and asks the
        // other to tell its own, to catch up: both sides get everything without another message.
        await customer.SendTextAsync("while Redis was gone");
        await agent.ReplyAsync(conversation.Id, "answered while Redis was gone");
        await agentInbox.WaitForAsync(conversation.Id, 3, "the agent on node B, after Redis came back");
        await customerInbox.WaitForAsync(conversation.Id, 3, "the customer on node A, after Redis came back");
        await Task.Delay(300);
        string[] all = ["before", "while Redis was gone", "answered while Redis was gone"];
        Assert.Equal(all, agentInbox.In(conversation.Id).Select(m => m.Content));
        Assert.Equal(all, customerInbox.In(conversation.Id).Select(m => m.Content));

        // ... and live again, both ways.
        await customer.SendTextAsync("after");
        await agentInbox.WaitForAsync(conversation.Id, 4, "the agent on node B to hear the customer on node A again");
        await agent.ReplyAsync(conversation.Id, "heard you");
        await customerInbox.WaitForAsync(conversation.Id, 5, "the customer on node A to hear the agent on node B again");
        Assert.Equal("heard you", customerInbox.In(conversation.Id)[^1].Content);
    }

    [Fact]
    public async Task Pushes_a_node_missed_while_its_link_to_redis_was_dark_reach_its_clients_without_another_message()
    {
        // Node A keeps its link to Redis; node B's goes dark for a while. What A publishes meanwhile Redis hands to
        // nobody on B (it keeps no pub/sub message), so without being told, B's agent would see the customer's message
        // only with the customer's next one, which a customer waiting for an answer never sends.
        var storage = await TestStorage.CreateAsync(StoreKind.Postgres);
        await using var proxy = new TcpFaultProxy("http://" + RedisServer.Configuration);
        await using var nodeA = await ChatTestServer.StartAsync(storage, redis: RedisServer.Configuration);
        await using var nodeB = await ChatTestServer.StartAsync(storage, redis: $"127.0.0.1:{new Uri(proxy.Url).Port}");
        var caughtUp = 0;
        await using var pair = await CustomerAndAgentAsync(nodeA, nodeB, "c-dark-link", agent => agent.CaughtUp += () =>
        {
            Interlocked.Increment(ref caughtUp);
            return Task.CompletedTask;
        });
        var (customer, customerInbox, conversation, agent, agentInbox) = pair;
        await agent.AcceptAsync(conversation.Id);
        await customer.SendTextAsync("before");
        await agentInbox.WaitForAsync(conversation.Id, 1, "the agent on node B, before its link went dark");

        proxy.Freeze();
        Assert.True(proxy.CutAll() > 0);
        await customer.SendTextAsync("while node B's link was dark"); // stored, published by A, lost for B
        await Task.Delay(1500);
        Assert.Single(agentInbox.In(conversation.Id));
        Assert.Equal(0, Volatile.Read(ref caughtUp));
        proxy.Thaw();

        // Node B tells its clients to catch up: the agent's client reads what it missed, then says so (CaughtUp), for
        // the application to read again what else it shows.
        await agentInbox.WaitForAsync(conversation.Id, 2, "the agent on node B, after its link came back");
        await Eventually.TrueAsync(() => Volatile.Read(ref caughtUp) > 0, "the agent's client to say it caught up");
        await Task.Delay(300);
        Assert.Equal(["before", "while node B's link was dark"], agentInbox.In(conversation.Id).Select(m => m.Content));
        await agent.ReplyAsync(conversation.Id, "here I am");
        await customerInbox.WaitForAsync(conversation.Id, 3, "the customer on node A");
        Assert.Equal(["before", "while node B's link was dark", "here I am"], customerInbox.In(conversation.Id).Select(m => m.Content));
    }

    [Fact]
    public async Task Pushes_a_node_that_stopped_without_shutting_down_never_sent_reach_the_other_nodes_clients_once_its_lease_lapses()
    {
        // A third node stores a customer's message and an agent's reply and stops (a crash) before it pushes either; the
        // senders never come back to retry. Played by a lease that lapses unreleased and appends behind the hubs' backs.
        var storage = await TestStorage.CreateAsync(StoreKind.Postgres);
        var logs = new CapturedLogs();
        await using var nodeA = await ChatTestServer.StartAsync(storage, redis: RedisServer.Configuration, chat: HubTests.ShortLeases);
        await using var nodeB = await ChatTestServer.StartAsync(storage, redis: RedisServer.Configuration, chat: HubTests.ShortLeases,
            logging: l => l.AddProvider(logs));
        await using var pair = await CustomerAndAgentAsync(nodeA, nodeB, "c-stopped-node");
        var (customer, customerInbox, conversation, agent, agentInbox) = pair;
        await agent.AcceptAsync(conversation.Id);
        await customer.SendTextAsync("before");
        await agentInbox.WaitForAsync(conversation.Id, 1, "the agent on node B");

        var leases = nodeA.Services.GetRequiredService<Chat.Storage.IWorkerIdLeaseStore>();
        var store = nodeA.Services.GetRequiredService<Chat.Storage.IMessageStore>();
        await leases.AcquireAsync("the-stopped-node", TimeSpan.FromMilliseconds(500), CancellationToken.None);
        await store.AppendAsync(HubTests.Behind(conversation, SenderKind.Customer, "c-stopped-node", "stored, never pushed"), CancellationToken.None);
        await store.AppendAsync(HubTests.Behind(conversation, SenderKind.Agent, "alice", "a reply, never pushed"), CancellationToken.None);

        // Each node sees the lease lapse and tells its own clients to catch up: both read what they missed.
        await agentInbox.WaitForAsync(conversation.Id, 3, "the agent on node B, with no further message");
        IEnumerable<string> CustomerHeard() => customerInbox.In(conversation.Id).Select(m => m.Content).Where(c => c != "before"); // its own, if echoed
        await Eventually.TrueAsync(() => CustomerHeard().Count() == 2, "the customer on node A, with no further message");
        Assert.Equal(["before", "stored, never pushed", "a reply, never pushed"], agentInbox.In(conversation.Id).Select(m => m.Content));
        Assert.Equal(["stored, never pushed", "a reply, never pushed"], CustomerHeard());
        // Node B saw the lease lapse too (within a third of the lease's life), though its clients may have had the
        // messages from node A's pushes before it did: they hold a push that comes ahead of its gap for a moment.
        await Eventually.TrueAsync(() => logs.Entries.Any(e => e.EventId.Id == 74 && e.Level == LogLevel.Warning), "node B to see the lease lapse");
        await Eventually.TrueAsync(async () => (await leases.ListLapsedAsync(CancellationToken.None)).Count == 0, "a node to forget the lapsed lease");
    }

    /// <summary>Two nodes on one PostgreSQL and Redis, each with the signed-JSON channel and the plugin that notes what it sees.</summary>
    private static async Task<TwoNodes> StartWebhookNodesAsync(CapturedLogs? logsOfA = null)
    {
        var storage = await TestStorage.CreateAsync(StoreKind.Postgres);
        var a = await ChatTestServer.StartAsync(storage, redis: RedisServer.Configuration, chat: WebhookTests.Plugins,
            logging: logsOfA is null ? null : l => l.AddProvider(logsOfA));
        return new TwoNodes(a, await ChatTestServer.StartAsync(storage, redis: RedisServer.Configuration, chat: WebhookTests.Plugins));
    }

    private sealed record TwoNodes(ChatTestServer A, ChatTestServer B) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await B.DisposeAsync();
            await A.DisposeAsync();
        }
    }

    /// <summary>A customer on one node in their conversation, and alice on another, each noting what they receive.</summary>
    private static async Task<CustomerAndAgent> CustomerAndAgentAsync(ChatTestServer customerNode, ChatTestServer agentNode, string customerId,
        Action<AgentChatClient>? beforeAgentStarts = null)
    {
        var customer = customerNode.Customer(customerId);
        var customerInbox = new Received();
        customer.MessageReceived += customerInbox.AddAsync;
        await customer.StartAsync();
        var conversation = await customer.StartConversationAsync();
        var agent = agentNode.Agent("alice");
        var agentInbox = new Received();
        agent.MessageReceived += agentInbox.AddAsync;
        beforeAgentStarts?.Invoke(agent);
        await agent.StartAsync();
        return new CustomerAndAgent(customer, customerInbox, conversation, agent, agentInbox);
    }

    private sealed record CustomerAndAgent(CustomerChatClient Customer, Received CustomerInbox, Conversation Conversation, AgentChatClient Agent, Received AgentInbox)
        : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Agent.DisposeAsync();
            await Customer.DisposeAsync();
        }
    }

    /// <summary>The platform message ids stored in the one conversation of the test channel, in order.</summary>
    private static async Task<IEnumerable<string?>> StoredPushesAsync(ChatTestServer node)
    {
        await using var agent = node.Agent("auditor");
        await agent.StartAsync();
        var conversation = Assert.Single(await agent.GetQueueAsync(), c => c.ChannelId == "test-channel");
        return (await agent.ResumeAsync(new ResumeRequest { ConversationId = conversation.Id })).Messages.Select(m => m.PlatformMessageId);
    }

    [Fact]
    public async Task With_redis_unreachable_a_node_starts_and_its_agents_connect_and_work()
    {
        // Nothing listens on that port; short Redis timeouts keep the test short.
        var unreachable = $"127.0.0.1:{Storage.Tests.Infrastructure.PostgresServer.FreePort()},connectTimeout=500,asyncTimeout=1000,syncTimeout=1000";
        using var logs = new CapturedLogs();
        await using var node = await ChatTestServer.StartAsync(await TestStorage.CreateAsync(StoreKind.Postgres), redis: unreachable, chat: WebhookTests.Plugins,
            logging: l => l.AddProvider(logs));

        await using var alice = node.Agent("alice");
        await alice.StartAsync(); // subscribing to the tenant's feed fails (logged); the connection does not
        await alice.SetPresenceAsync(AgentPresence.Online, 3);
        Assert.Empty(await alice.GetQueueAsync());

        // Its customers too: the subscription to the tenant's customer pushes fails (logged); the conversation does not.
        await using var customer = node.Customer("c-no-redis");
        var inbox = new Received();
        customer.MessageReceived += inbox.AddAsync;
        await customer.StartAsync();
        var conversation = await customer.StartConversationAsync();
        Assert.Equal(1, (await customer.SendTextAsync("hello")).Seq);
        await alice.ReplyAsync(conversation.Id, "hi");
        await inbox.WaitForAsync(conversation.Id, 2, "the customer on the same node");

        // A platform's push goes on unclaimed (said once in the log) and is stored once, retried or not.
        using var http = new HttpClient();
        var push = """{"user":"openid-no-redis","id":"pm-no-redis","text":"hello"}""";
        foreach (var attempt in new[] { push, push })
        {
            var response = await WebhookTests.PostAsync(http, node, attempt);
            Assert.Equal((System.Net.HttpStatusCode.OK, "success"), (response.StatusCode, await response.Content.ReadAsStringAsync()));
        }

        Assert.Single(logs.Entries, e => e.EventId.Id == 59 && e.Level == LogLevel.Warning);
        // The push's conversation went to alice, which the other nodes could not be told; nor could this node subscribe
        // to what they change. Each said once, however often it was tried.
        Assert.Equal(1, logs.Entries.Count(e => e.EventId.Id == 64 && e.Level == LogLevel.Warning));
        Assert.Equal(1, logs.Entries.Count(e => e.EventId.Id == 65 && e.Level == LogLevel.Warning));
        var pushed = Assert.Single(await alice.ListConversationsAsync(status: null, mine: false), c => c.ChannelId == "test-channel");
        Assert.Single((await alice.ResumeAsync(new ResumeRequest { ConversationId = pushed.Id })).Messages);
    }

    [Fact]
    public async Task A_conversation_on_one_node_goes_to_an_available_agent_on_another_until_that_agent_or_node_leaves()
    {
        var storage = await TestStorage.CreateAsync(StoreKind.Postgres);
        var tenant = "shop-" + Guid.NewGuid().ToString("N")[..8]; // other test processes share this Redis
        await using var nodeA = await ChatTestServer.StartAsync(storage, redis: RedisServer.Configuration);
        var nodeB = await ChatTestServer.StartAsync(storage, redis: RedisServer.Configuration);
        var registryA = nodeA.Services.GetRequiredService<Chat.Hub.Services.AgentRegistry>();
        var conversationsA = nodeA.Services.GetRequiredService<Storage.IConversationStore>();
        Conversation Get(long id) => conversationsA.GetConversationAsync(tenant, id, CancellationToken.None).AsTask().GetAwaiter().GetResult()!;

        await using var alice = nodeB.Agent("alice", tenant);
        var aliceInbox = new Received();
        alice.MessageReceived += aliceInbox.AddAsync;
        await alice.StartAsync();
        Assert.False(registryA.AnyAvailable(tenant)); // connected is not available
        await alice.SetPresenceAsync(AgentPresence.Online, 5);
        await Eventually.TrueAsync(() => registryA.AnyAvailable(tenant), "node A to hear that alice, on node B, takes conversations");

        // A customer on node A: node A gives the conversation to alice, who gets its messages on node B.
        await using var ann = nodeA.Customer("c-ann", tenant);
        await ann.StartAsync();
        var first = await ann.StartConversationAsync();
        await ann.SendTextAsync("hello");
        await Eventually.TrueAsync(() => Get(first.Id).AssigneeId == "alice", "node A to assign the conversation to alice");
        await aliceInbox.WaitForAsync(first.Id, 1, "alice on node B");

        // alice goes offline: node A hears it at once and gives the next conversation to nobody.
        await alice.SetPresenceAsync(AgentPresence.Offline, 5);
        await Eventually.TrueAsync(() => !registryA.AnyAvailable(tenant), "node A to hear that alice went offline");
        await using var bea = nodeA.Customer("c-bea", tenant);
        await bea.StartAsync();
        var second = await bea.StartConversationAsync();
        await bea.SendTextAsync("anyone?");
        await Task.Delay(300);
        Assert.Equal((ConversationStatus.Queued, null), (Get(second.Id).Status, Get(second.Id).AssigneeId));

        // Online again, she is given the waiting conversation; then her node stops, and node A forgets her at once.
        await alice.SetPresenceAsync(AgentPresence.Online, 5);
        await Eventually.TrueAsync(() => Get(second.Id).AssigneeId == "alice", "the waiting conversation to go to alice");
        await Eventually.TrueAsync(() => registryA.AnyAvailable(tenant), "node A to hear that alice is back");
        await nodeB.DisposeAsync();
        await Eventually.TrueAsync(() => !registryA.AnyAvailable(tenant), "node A to forget alice when her node says it stops", timeoutMs: 3_000);

        // A node that dies without a word: its last report holds for three of its heartbeats, then node A forgets it.
        // Reports node A cannot read (not JSON, a capacity out of range) are skipped.
        await using var redisClient = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(
            StackExchange.Redis.ConfigurationOptions.Parse($"{RedisServer.Configuration},channelPrefix=chat"));
        var channel = StackExchange.Redis.RedisChannel.Literal("Chat.AgentPresence");
        await redisClient.GetSubscriber().PublishAsync(channel, "not json");
        await redisClient.GetSubscriber().PublishAsync(channel, $$"""{"n":"ghost","h":1000,"a":[{"t":"{{tenant}}","i":"greedy","c":5000,"m":[]}]}""");
        var sent = System.Diagnostics.Stopwatch.StartNew();
        await redisClient.GetSubscriber().PublishAsync(channel, $$"""{"n":"ghost","h":1000,"a":[{"t":"{{tenant}}","i":"ghost-agent","c":3,"m":[]}]}""");
        await Eventually.TrueAsync(() => registryA.Available(tenant, null).Select(a => a.AgentId).SequenceEqual(["ghost-agent"]), "node A to hear the ghost node's report");
        await Eventually.TrueAsync(() => !registryA.AnyAvailable(tenant), "node A to forget the silent ghost node");
        Assert.InRange(sent.Elapsed, TimeSpan.FromSeconds(2.9), TimeSpan.FromSeconds(8)); // three heartbeats of 1 s after it heard the report
    }
}
