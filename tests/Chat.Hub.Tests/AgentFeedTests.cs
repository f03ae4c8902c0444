using System.Collections.Concurrent;
using Chat.Hub.Services;
using Chat.Hub.Tests.Infrastructure;
using Chat.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Chat.Hub.Tests;

/// <summary>
/// The agents' feed on its own, with the group send replaced by a recorder that can be held: what it batches, in which
/// order, and what a failed push does. The real send over SignalR is covered end to end in <see cref="HubTests"/>.
/// </summary>
public sealed class AgentFeedTests
{
    [Fact]
    public async Task Messages_that_arrive_while_a_push_is_written_go_out_next_as_one_push_in_order()
    {
        var (sends, feed) = await WritingFirstPushAsync();
        await using var _ = feed;
        for (var seq = 2; seq <= 6; seq++)
        {
            await feed.PublishMessageAsync(Message("t1", 1, seq), assigneeId: null, exceptConnectionId: null);
        }

        sends.Release();
        await sends.WaitForAsync(2);

        var (group, method, payload, except) = sends.Calls[0];
        Assert.Equal(("a:t1", ChatHubMethods.MessageReceived, 1L), (group, method, ((ChatMessage)payload).Seq));
        Assert.Empty(except);
        (group, method, payload, except) = sends.Calls[1];
        Assert.Equal(("a:t1", ChatHubMethods.MessagesReceived), (group, method));
        Assert.Equal([2L, 3L, 4L, 5L, 6L], ((ChatMessage[])payload).Select(m => m.Seq));
        Assert.Empty(except);
        await Task.Delay(100);
        Assert.Equal(2, sends.Calls.Count);
    }

    [Fact]
    public async Task A_batch_holds_each_conversations_messages_in_seq_order_whatever_order_they_were_published_in()
    {
        // Messages of one store batch are published as their senders' calls resume, in any order.
        var (sends, feed) = await WritingFirstPushAsync();
        await using var _ = feed;
        foreach (var (conversation, seq) in new (long, long)[] { (1, 3), (2, 7), (1, 2), (1, 5), (2, 6), (3, 1), (1, 4) })
        {
            await feed.PublishMessageAsync(Message("t1", conversation, seq), assigneeId: null, exceptConnectionId: null);
        }

        sends.Release();
        await sends.WaitForAsync(2);

        var batch = (ChatMessage[])sends.Calls[1].Payload;
        Assert.Equal(["1:2", "2:6", "1:3", "1:4", "2:7", "3:1", "1:5"], batch.Select(m => $"{m.ConversationId}:{m.Seq}"));
    }

    [Fact]
    public void A_batch_keeps_each_message_with_its_assignee_when_it_is_put_in_order()
    {
        var batch = new List<ChatMessage> { Message("t1", 1, 2), Message("t1", 1, 1), Message("t1", 2, 1) };
        var assignees = new List<string?> { "bob", "alice", null };
        AgentFeed.InSeqOrder(batch, assignees, []);
        Assert.Equal(["1:1 alice", "1:2 bob", "2:1 "], batch.Zip(assignees, (m, a) => $"{m.ConversationId}:{m.Seq} {a}"));
    }

    [Fact]
    public async Task Other_events_keep_their_place_and_an_agents_own_message_is_not_batched_with_others()
    {
        var (sends, feed) = await WritingFirstPushAsync();
        await using var _ = feed;
        await feed.PublishMessageAsync(Message("t1", 1, 2), assigneeId: null, null);
        await feed.PublishAsync("t1", ChatHubMethods.ConversationChanged, "conversation 1 changed");
        await feed.PublishMessageAsync(Message("t1", 1, 3), assigneeId: null, null);
        await feed.PublishMessageAsync(Message("t1", 1, 4, SenderKind.Agent), assigneeId: null, "agent-connection");
        await feed.PublishMessageAsync(Message("t1", 1, 5), assigneeId: null, null);
        await feed.PublishMessageAsync(Message("t1", 1, 6), assigneeId: null, null);
        await feed.PublishMessageAsync(Message("t2", 9, 1), assigneeId: null, null); // another tenant: its own queue and loop
        sends.Release();
        await sends.WaitForAsync(7);

        var calls = sends.Calls;
        Assert.Equal(
            [
                ("a:t1", ChatHubMethods.MessageReceived, "1", ""),
                ("a:t1", ChatHubMethods.MessageReceived, "2", ""),
                ("a:t1", ChatHubMethods.ConversationChanged, "conversation 1 changed", ""),
                ("a:t1", ChatHubMethods.MessageReceived, "3", ""),
                ("a:t1", ChatHubMethods.MessageReceived, "4", "agent-connection"),
                ("a:t1", ChatHubMethods.MessagesReceived, "5,6", ""),
            ],
            calls.Where(c => c.Group == "a:t1").Select(c => (c.Group, c.Method, Describe(c.Payload), string.Join(",", c.Except))));
        Assert.Equal(("a:t2", ChatHubMethods.MessageReceived, "1"), calls.Where(c => c.Group == "a:t2").Select(c => (c.Group, c.Method, Describe(c.Payload))).Single());
    }

    [Fact]
    public async Task A_batch_is_bounded_by_count_and_by_size()
    {
        var (sends, feed) = await WritingFirstPushAsync(maxBatch: 4);
        await using var _ = feed;
        for (var seq = 2; seq <= 7; seq++)
        {
            await feed.PublishMessageAsync(Message("t1", 1, seq), assigneeId: null, null);
        }

        // Two large messages (about 120,000 characters each, so estimated at over 256 KiB together with escaping).
        await feed.PublishMessageAsync(Message("t1", 1, 8) with { Content = new string('x', 120_000) }, assigneeId: null, null);
        await feed.PublishMessageAsync(Message("t1", 1, 9) with { Content = new string('x', 120_000) }, assigneeId: null, null);
        sends.Release();
        await sends.WaitForAsync(4);

        Assert.Equal(["1", "2,3,4,5", "6,7,8", "9"], sends.Calls.Select(c => Describe(c.Payload)));
    }

    [Fact]
    public async Task A_failed_push_is_logged_and_the_next_ones_still_go_out()
    {
        var sends = new Recorder { FailFirst = true };
        var logger = new FakeLogger<AgentFeed>();
        await using var feed = new AgentFeed(sends.SendAsync, logger);

        await feed.PublishMessageAsync(Message("t1", 1, 1), assigneeId: null, null);
        await sends.WaitForAsync(1);
        await feed.PublishMessageAsync(Message("t1", 1, 2), assigneeId: null, null);
        await sends.WaitForAsync(2);

        Assert.Equal("2", Describe(sends.Calls[1].Payload));
        var entry = Assert.Single(logger.Collector.GetSnapshot());
        Assert.Equal((LogLevel.Warning, 42), (entry.Level, entry.Id.Id));
        Assert.Contains("tenant 't1'", entry.Message, StringComparison.Ordinal);
        Assert.IsType<IOException>(entry.Exception);
    }

    [Fact]
    public async Task A_full_queue_holds_the_publisher_back_until_the_push_in_writing_is_done()
    {
        var (sends, feed) = await WritingFirstPushAsync(capacity: 2);
        await using var _ = feed;
        await feed.PublishMessageAsync(Message("t1", 1, 2), assigneeId: null, null);
        await feed.PublishMessageAsync(Message("t1", 1, 3), assigneeId: null, null);

        var held = feed.PublishMessageAsync(Message("t1", 1, 4), assigneeId: null, null).AsTask();
        await Task.Delay(100);
        Assert.False(held.IsCompleted, "the publisher waits while the tenant's queue is full");

        sends.Release();
        await held.WaitAsync(TimeSpan.FromSeconds(10));
        await sends.WaitForAsync(2);
        await Task.Delay(100);
        Assert.Equal(["1", "2,3,4"], sends.Calls.Select(c => Describe(c.Payload))); // 4 took 2's place as the loop read 2
    }

    [Fact]
    public async Task A_push_some_connection_does_not_take_holds_the_others_up_only_for_a_moment_until_such_pushes_pass_the_cap()
    {
        // Each push is about 566 bytes by the feed's estimate: two may be held, the third one held makes the loop wait.
        var sends = new Recorder();
        await using var feed = new AgentFeed(sends.SendAsync, new FakeLogger<AgentFeed>(), grace: TimeSpan.FromMilliseconds(200), maxHeldBytes: 1500);
        sends.Hold(); // a connection that takes nothing more: every push from here on stays in writing
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await feed.PublishMessageAsync(Message("t1", 1, 1), assigneeId: null, null);
        await sends.WaitForAsync(1);
        await feed.PublishMessageAsync(Message("t1", 1, 2), assigneeId: null, null);
        await sends.WaitForAsync(2); // after the grace of push 1, not after push 1
        await feed.PublishMessageAsync(Message("t1", 1, 3), assigneeId: null, null);
        await sends.WaitForAsync(3); // at once: while pushes are held the loop does not wait for new ones
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"the pushes took {watch.Elapsed}: the loop waited for the held ones");

        // Three held pushes pass the cap: the loop waits for the oldest before it sends anything else.
        await feed.PublishMessageAsync(Message("t1", 1, 4), assigneeId: null, null);
        await Task.Delay(500);
        Assert.Equal(3, sends.Calls.Count);

        sends.Release();
        await sends.WaitForAsync(4);
        Assert.Equal(["1", "2", "3", "4"], sends.Calls.Select(c => Describe(c.Payload)));
    }

    [Fact]
    public async Task Shutdown_sends_what_is_queued_and_does_not_wait_for_a_push_that_never_ends()
    {
        var (sends, feed) = await WritingFirstPushAsync();
        await feed.PublishMessageAsync(Message("t1", 1, 2), assigneeId: null, null);

        // The first push never completes (a connection that is going away): disposing gives up on it after a while.
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await feed.DisposeAsync();
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(30));
        await feed.PublishMessageAsync(Message("t1", 1, 3), assigneeId: null, null); // after disposal: dropped, no error
        Assert.Single(sends.Calls);

        // A feed whose pushes complete sends what is queued before it is disposed.
        var quick = new Recorder();
        var second = new AgentFeed(quick.SendAsync, new FakeLogger<AgentFeed>());
        for (var seq = 1; seq <= 3; seq++)
        {
            await second.PublishMessageAsync(Message("t1", 1, seq), assigneeId: null, null);
        }

        await second.DisposeAsync();
        Assert.Equal("1,2,3", string.Join(",", quick.Calls.SelectMany(c => Describe(c.Payload).Split(','))));
    }

    [Fact]
    public async Task Routed_a_batch_goes_to_each_connection_with_what_it_hears_in_order_and_changes_go_to_all()
    {
        // Conversation 1 is alice's (connections a1, a2), 2 is bob's (b1), and b1 follows conversation 1 too; carol (c1) neither.
        var sends = new Recorder();
        var toConnections = new ConcurrentQueue<(string Connection, string Method, string Payload)>();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task SendTo(IReadOnlyList<string> ids, string method, object payload)
        {
            foreach (var id in ids)
            {
                toConnections.Enqueue((id, method, Describe(payload)));
            }

            return gate.Task;
        }

        IEnumerable<string> Recipients(string tenant, long conversation, string? assignee) =>
            (assignee switch { "alice" => ["a1", "a2"], "bob" => ["b1"], _ => Array.Empty<string>() })
                .Concat(conversation == 1 ? ["b1"] : []);

        await using var feed = new AgentFeed(sends.SendAsync, new FakeLogger<AgentFeed>(), grace: TimeSpan.FromMinutes(1), sendTo: SendTo, recipients: Recipients);
        await feed.PublishMessageAsync(Message("t1", 1, 1), "alice", exceptConnectionId: null); // being written: the rest wait
        await Eventually.TrueAsync(() => toConnections.Count == 3, "the first message to a1, a2 and b1 (its follower)");
        await feed.PublishMessageAsync(Message("t1", 2, 1), "bob", null);
        await feed.PublishMessageAsync(Message("t1", 1, 2), "alice", null);
        await feed.PublishMessageAsync(Message("t1", 1, 3, SenderKind.Agent), "alice", "a1"); // alice's own reply from a1
        await feed.PublishToConversationAsync("t1", ChatHubMethods.TypingReceived, new TypingEvent { ConversationId = 2, SenderKind = SenderKind.Customer, SenderId = "c-2" }, "bob");
        await feed.PublishMessageAsync(Message("t1", 3, 1), null, null); // queued, nobody's, nobody follows: nobody hears it
        await feed.PublishAsync("t1", ChatHubMethods.ConversationChanged, "conversation 3 queued");
        gate.SetResult();
        await sends.WaitForAsync(1);
        await Task.Delay(100);

        // In the feed's order; a batch split by connection, each its own part in order; the sender's connection left out.
        Assert.Equal(
            [
                ("a1", ChatHubMethods.MessageReceived, "1"), ("a2", ChatHubMethods.MessageReceived, "1"), ("b1", ChatHubMethods.MessageReceived, "1"),
                ("b1", ChatHubMethods.MessagesReceived, "1,2"), ("a1", ChatHubMethods.MessageReceived, "2"), ("a2", ChatHubMethods.MessageReceived, "2"),
                ("a2", ChatHubMethods.MessageReceived, "3"), ("b1", ChatHubMethods.MessageReceived, "3"),
                ("b1", ChatHubMethods.TypingReceived, "typing c-2"),
            ],
            toConnections);
        var change = Assert.Single(sends.Calls); // to every agent of the tenant
        Assert.Equal(("a:t1", ChatHubMethods.ConversationChanged, "conversation 3 queued"), (change.Group, change.Method, Describe(change.Payload)));
    }

    /// <summary>A feed whose first push (message 1 of tenant t1) is being written and held there until released.</summary>
    /// <remarks>The loop waits for a push in writing for a minute here (its grace), so the tests can act meanwhile.</remarks>
    private static async Task<(Recorder Sends, AgentFeed Feed)> WritingFirstPushAsync(int capacity = 8192, int maxBatch = 128)
    {
        var sends = new Recorder();
        var feed = new AgentFeed(sends.SendAsync, new FakeLogger<AgentFeed>(), capacity, maxBatch, grace: TimeSpan.FromMinutes(1));
        sends.Hold();
        await feed.PublishMessageAsync(Message("t1", 1, 1), assigneeId: null, exceptConnectionId: null);
        await sends.WaitForAsync(1);
        return (sends, feed);
    }

    private static string Describe(object payload) => payload switch
    {
        ChatMessage m => m.Seq.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ChatMessage[] batch => string.Join(",", batch.Select(m => m.Seq)),
        TypingEvent typing => "typing " + typing.SenderId,
        _ => payload.ToString() ?? "",
    };

    private static ChatMessage Message(string tenant, long conversation, long seq, SenderKind sender = SenderKind.Customer) => new()
    {
        TenantId = tenant,
        ConversationId = conversation,
        Seq = seq,
        Id = (conversation * 1000) + seq,
        ChannelId = "web",
        Direction = sender == SenderKind.Customer ? MessageDirection.Inbound : MessageDirection.Outbound,
        Sender = new MessageSender(sender, sender == SenderKind.Customer ? "c-1" : "alice"),
        Kind = MessageKind.Text,
        Content = $"message {seq}",
    };

    /// <summary>Records group sends; can hold them (the push "being written") until released.</summary>
    private sealed class Recorder
    {
        private readonly ConcurrentQueue<(string Group, string Method, object Payload, IReadOnlyList<string> Except)> _calls = new();
        private TaskCompletionSource _gate = CompletedGate();

        public bool FailFirst { get; init; }

        public IReadOnlyList<(string Group, string Method, object Payload, IReadOnlyList<string> Except)> Calls => _calls.ToArray();

        public void Hold() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _gate.TrySetResult();

        public async Task SendAsync(string group, string method, object payload, IReadOnlyList<string> except)
        {
            _calls.Enqueue((group, method, payload, except));
            await _gate.Task;
            if (FailFirst && _calls.Count == 1)
            {
                throw new IOException("the connection broke");
            }
        }

        public Task WaitForAsync(int count) =>
            Eventually.TrueAsync(() => _calls.Count >= count, $"{count} push(es) (has {_calls.Count})");

        private static TaskCompletionSource CompletedGate()
        {
            var gate = new TaskCompletionSource();
            gate.SetResult();
            return gate;
        }
    }
}
