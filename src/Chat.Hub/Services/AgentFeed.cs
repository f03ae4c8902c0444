using System.Collections.Concurrent;
using System.Threading.Channels;
using Chat.Hub.Hubs;
using Chat.Protocol;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Services;

/// <summary>
/// What a tenant's agents hear (messages, conversation and delivery changes, customers' typing and read receipts), in
/// the order it happened, without making the sender wait for the agents' connections. One queue and one sending loop per tenant: while a push is being
/// written, what arrives meanwhile waits and goes out next, consecutive messages as one
/// <see cref="ChatHubMethods.MessagesReceived"/> push (a single message stays a <see cref="ChatHubMethods.MessageReceived"/>).
/// Under load a tenant's agents get one write per batch instead of one per message; at rest nothing waits.
/// </summary>
/// <remarks>
/// <para>
/// Pushes are best effort, as before (an agent that misses one gets it from <c>Resume</c>). A full queue holds the
/// publisher back until the loop catches up, so a tenant whose agents cannot keep up slows its senders down instead
/// of growing without bound.
/// </para>
/// <para>
/// A push goes at once to every agent connection that hears it (a conversation's to its assignee's connections and those
/// that follow it, each its own part of a batch; a change to all the tenant's agents), and SignalR writes it at once to
/// each connection that is free; its task completes when the slowest connection has taken it. The loop waits for that only for a moment
/// (<c>grace</c>): a connection that takes no more (an agent whose network went dark, whose socket buffer and
/// stateful-reconnect buffer are full) keeps its pushes queued on its own write lock, in order, until it takes them
/// or SignalR closes it, and the other agents go on getting theirs. While such pushes are held, the loop does not wait
/// for new ones either; once they add up to <c>maxHeldBytes</c> it waits for the oldest, so memory stays bounded.
/// </para>
/// <para>
/// With several nodes (<see cref="AgentFeedReplica"/>), each push this node's loop sends goes to the other nodes too,
/// and each node's loop writes it to its own agent connections by the same rules.
/// </para>
/// </remarks>
internal sealed partial class AgentFeed : IAsyncDisposable
{
    /// <summary>A batch stops growing once its messages' estimated size passes this.</summary>
    private const int MaxBatchBytes = 256 * 1024;

    private readonly Func<string, string, object, IReadOnlyList<string>, Task> _send;
    private readonly ILogger<AgentFeed> _logger;
    private readonly int _capacity;
    private readonly int _maxBatch;
    private readonly TimeSpan _grace;
    private readonly long _maxHeldBytes;
    private readonly AgentFeedReplica? _replica;
    private readonly Func<IReadOnlyList<string>, string, object, Task>? _sendTo;
    private readonly Func<string, long, string?, IEnumerable<string>>? _recipients;
    private readonly Func<string, bool>? _anySupervisors;
    private readonly ConcurrentDictionary<string, TenantQueue> _tenants = new(StringComparer.Ordinal);
    private bool _disposed;

    public AgentFeed(IHubContext<AgentHub> agents, ILogger<AgentFeed> logger, IOptions<ChatHubOptions> options, AgentRegistry registry,
        ChatConnections connections, AgentFeedReplica? replica = null)
        : this((group, method, payload, except) => agents.Clients.GroupExcept(group, except).SendAsync(method, payload, CancellationToken.None), logger, replica: replica,
            sendTo: options.Value.AgentsHearEveryMessage ? null : (ids, method, payload) => agents.Clients.Clients(ids).SendAsync(method, payload, CancellationToken.None),
            recipients: options.Value.AgentsHearEveryMessage ? null : (tenantId, conversationId, assigneeId) => Recipients(registry, connections, tenantId, conversationId, assigneeId),
            anySupervisors: connections.AnySupervisors)
    {
    }

    /// <param name="send">Pushes one method with one argument to a group, except some connections.</param>
    /// <param name="logger">Where failed pushes are logged.</param>
    /// <param name="capacity">How many pushes a tenant's queue holds before publishers wait.</param>
    /// <param name="maxBatch">The most messages in one <see cref="ChatHubMethods.MessagesReceived"/> push.</param>
    /// <param name="grace">How long the loop waits for a push that some connection has not taken yet before it goes on
    /// without it. Default 500 ms.</param>
    /// <param name="maxHeldBytes">How many estimated bytes of pushes some connection has not taken yet the loop lets
    /// pass before it waits for the oldest of them. Default 64 MiB.</param>
    /// <param name="replica">Carries the pushes to and from the other nodes; null on a single node.</param>
    /// <param name="sendTo">Pushes one method with one argument to some connections; with <paramref name="recipients"/>,
    /// a conversation's pushes go only to the connections it names. Null: every push goes to all the tenant's agents.</param>
    /// <param name="recipients">This node's agent connections that hear a conversation (tenant, conversation, assignee),
    /// supervisors' left out.</param>
    /// <param name="anySupervisors">Whether a tenant has supervisors on this node, who hear all its conversations' pushes
    /// through their group (<see cref="HubGroups.Supervisors"/>).</param>
    internal AgentFeed(Func<string, string, object, IReadOnlyList<string>, Task> send, ILogger<AgentFeed> logger, int capacity = 8192, int maxBatch = 128,
        TimeSpan? grace = null, long maxHeldBytes = 64L * 1024 * 1024, AgentFeedReplica? replica = null,
        Func<IReadOnlyList<string>, string, object, Task>? sendTo = null, Func<string, long, string?, IEnumerable<string>>? recipients = null,
        Func<string, bool>? anySupervisors = null)
    {
        _send = send;
        _logger = logger;
        _capacity = capacity;
        _maxBatch = maxBatch;
        _grace = grace ?? TimeSpan.FromMilliseconds(500);
        _maxHeldBytes = maxHeldBytes;
        _replica = replica;
        (_sendTo, _recipients) = sendTo is not null && recipients is not null ? (sendTo, recipients) : (null, null);
        _anySupervisors = anySupervisors;
    }

    /// <summary>
    /// Queues a stored message for the agents who hear its conversation (<paramref name="assigneeId"/>'s connections and
    /// those that follow it, or every agent of the tenant with <see cref="ChatHubOptions.AgentsHearEveryMessage"/>),
    /// except the connection that sent it.
    /// </summary>
    public ValueTask PublishMessageAsync(ChatMessage message, string? assigneeId, string? exceptConnectionId) =>
        EnqueueAsync(message.TenantId, new Push(ChatHubMethods.MessageReceived, message, exceptConnectionId, Assignees: [assigneeId]));

    /// <summary>
    /// Queues a conversation's typing indicator or read receipt (<see cref="TypingEvent"/>, <see cref="ReadEvent"/>) for
    /// the agents who hear the conversation, as <see cref="PublishMessageAsync"/>, after what came before it.
    /// </summary>
    public ValueTask PublishToConversationAsync(string tenantId, string method, object payload, string? assigneeId, string? exceptConnectionId = null) =>
        EnqueueAsync(tenantId, new Push(method, payload, exceptConnectionId, Assignees: [assigneeId]));

    /// <summary>Queues an event for all the tenant's agents (a changed conversation, a delivery), after what came before
    /// it, except the connection it came from (when it came from an agent).</summary>
    public ValueTask PublishAsync(string tenantId, string method, object payload, string? exceptConnectionId = null) =>
        EnqueueAsync(tenantId, new Push(method, payload, exceptConnectionId));

    /// <summary>
    /// A tenant's agent connected to this node: with several nodes, this node now gets the tenant's pushes from the
    /// others (from then on; the agent's client catches up on what came before from <c>Resume</c>).
    /// </summary>
    public Task AgentConnectedAsync(string tenantId) =>
        _replica is null ? Task.CompletedTask : _replica.SubscribeAsync(tenantId, (method, payload, _, except, assignees) =>
            EnqueueAsync(tenantId, new Push(method, payload, except, FromOtherNode: true, Assignees: assignees)));

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        foreach (var tenant in _tenants.Values)
        {
            tenant.Queue.Writer.TryComplete();
        }

        try
        {
            // What is queued goes out, but shutdown does not wait on a push stuck on a connection that is going away.
            await Task.WhenAll(_tenants.Values.Select(static t => t.Loop ?? Task.CompletedTask)).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
    }

    private ValueTask EnqueueAsync(string tenantId, Push push)
    {
        if (_disposed)
        {
            return ValueTask.CompletedTask;
        }

        var tenant = _tenants.GetOrAdd(tenantId, static (id, feed) => new TenantQueue(feed, id), this);
        tenant.EnsureStarted();
        if (tenant.Queue.Writer.TryWrite(push))
        {
            return ValueTask.CompletedTask;
        }

        return WaitAsync(tenant, push);

        static async ValueTask WaitAsync(TenantQueue tenant, Push push)
        {
            try
            {
                await tenant.Queue.Writer.WriteAsync(push).ConfigureAwait(false);
            }
            catch (ChannelClosedException)
            {
                // Shutting down: the push is dropped, and agents catch up from Resume when they connect again.
            }
        }
    }

    private async Task RunAsync(string tenantId, ChannelReader<Push> reader)
    {
        var group = HubGroups.Agents(tenantId);
        var batch = new List<ChatMessage>(_maxBatch);
        var batchAssignees = new List<string?>(_maxBatch);
        var seen = new Dictionary<long, long>(); // InSeqOrder's: a batch's conversations and their last seq
        var held = new Queue<(Task Push, string Method, long Bytes)>(); // pushes some connection has not taken yet, oldest first
        long heldBytes = 0;
        Push? next = null;
        while (next is not null || await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            if (next is null && !reader.TryRead(out next))
            {
                continue;
            }

            var push = next;
            next = null;
            IReadOnlyList<string> except = push.Except is null ? [] : [push.Except];
            object payload = push.Payload;
            var method = push.Method;
            var assignees = push.Assignees;
            long bytes = 512;
            if (method == ChatHubMethods.MessageReceived)
            {
                // Consecutive messages with the same exception go as one push.
                var message = (ChatMessage)push.Payload;
                batch.Clear();
                batchAssignees.Clear();
                batch.Add(message);
                batchAssignees.Add(push.Assignees?[0]);
                bytes = EstimatedBytes(message);
                while (batch.Count < _maxBatch && bytes < MaxBatchBytes && reader.TryRead(out next))
                {
                    if (next.Method != ChatHubMethods.MessageReceived || next.Except != push.Except || next.FromOtherNode != push.FromOtherNode
                        || (next.Assignees is null) != (push.Assignees is null))
                    {
                        break;
                    }

                    message = (ChatMessage)next.Payload;
                    batch.Add(message);
                    batchAssignees.Add(next.Assignees?[0]);
                    bytes += EstimatedBytes(message);
                    next = null;
                }

                if (batch.Count > 1)
                {
                    InSeqOrder(batch, batchAssignees, seen);
                    method = ChatHubMethods.MessagesReceived;
                    payload = batch.ToArray();
                    assignees = push.Assignees is null ? null : batchAssignees.ToArray();
                }
            }

            if (!push.FromOtherNode && _replica is not null)
            {
                await _replica.PublishAsync(tenantId, method, payload, conversationId: 0, push.Except, assignees).ConfigureAwait(false);
            }

            Task task;
            try
            {
                if (assignees is not null && _recipients is not null)
                {
                    task = SendToConversations(tenantId, method, payload, assignees, push.Except);
                    if (_anySupervisors?.Invoke(tenantId) == true)
                    {
                        task = Task.WhenAll(task, _send(HubGroups.Supervisors(tenantId), method, payload, except));
                    }
                }
                else
                {
                    task = _send(group, method, payload, except);
                }
            }
            catch (Exception ex)
            {
                LogPushFailed(_logger, ex, method, tenantId);
                continue;
            }

            while (held.TryPeek(out var oldest) && oldest.Push.IsCompleted)
            {
                held.Dequeue();
                heldBytes -= oldest.Bytes;
                Observe(oldest.Push, oldest.Method, tenantId);
            }

            if (!task.IsCompleted && held.Count == 0)
            {
                // Usually a connection busy for a moment: wait, so what arrives meanwhile goes out next as one batch.
                await task.WaitAsync(_grace).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            if (task.IsCompleted)
            {
                Observe(task, method, tenantId);
                continue;
            }

            // Some connection has not taken it (it stays queued there, in order): the others go on without it.
            held.Enqueue((task, method, bytes));
            heldBytes += bytes;
            while (heldBytes > _maxHeldBytes && held.TryDequeue(out var oldest))
            {
                heldBytes -= oldest.Bytes;
                await oldest.Push.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                Observe(oldest.Push, oldest.Method, tenantId);
            }
        }
    }

    /// <summary>
    /// Puts each conversation's messages of a batch in seq order, in the places they had (each with its assignee). The
    /// messages of a conversation stored in one store batch (a platform user's pushes sent together, a customer's and an
    /// agent's at once) are published as their senders' calls resume, in any order; a client that heard a later seq
    /// first would read the one before it from the history (a call, and for an agent an audited read) and then drop it.
    /// </summary>
    internal static void InSeqOrder(List<ChatMessage> batch, List<string?> assignees, Dictionary<long, long> seen)
    {
        seen.Clear();
        var ordered = true;
        foreach (var message in batch)
        {
            if (seen.TryGetValue(message.ConversationId, out var last) && last > message.Seq)
            {
                ordered = false;
                break;
            }

            seen[message.ConversationId] = message.Seq;
        }

        if (ordered)
        {
            return;
        }

        foreach (var places in Enumerable.Range(0, batch.Count).GroupBy(i => batch[i].ConversationId))
        {
            var at = places.ToArray();
            var sorted = at.Select(i => (Message: batch[i], Assignee: assignees[i])).OrderBy(x => x.Message.Seq).ToArray();
            for (var k = 0; k < at.Length; k++)
            {
                (batch[at[k]], assignees[at[k]]) = sorted[k];
            }
        }
    }

    /// <summary>
    /// Sends a conversation's push (a message, a batch of them, typing, a read receipt) to the connections that hear each
    /// conversation: one push per connection with what it hears of the batch, in the batch's order.
    /// </summary>
    private Task SendToConversations(string tenantId, string method, object payload, string?[] assignees, string? except)
    {
        if (payload is not ChatMessage[] messages)
        {
            var conversationId = payload switch
            {
                ChatMessage m => m.ConversationId,
                TypingEvent t => t.ConversationId,
                ReadEvent r => r.ConversationId,
                _ => throw new NotSupportedException($"A push of {payload.GetType().Name} names no conversation."),
            };
            var ids = _recipients!(tenantId, conversationId, assignees[0]).Where(id => id != except).Distinct(StringComparer.Ordinal).ToList();
            return ids.Count == 0 ? Task.CompletedTask : _sendTo!(ids, method, payload);
        }

        var heard = new Dictionary<string, List<ChatMessage>>(StringComparer.Ordinal);
        for (var i = 0; i < messages.Length; i++)
        {
            foreach (var id in _recipients!(tenantId, messages[i].ConversationId, assignees[i]))
            {
                if (id == except)
                {
                    continue;
                }

                if (!heard.TryGetValue(id, out var list))
                {
                    heard[id] = list = [];
                }

                if (list.Count == 0 || !ReferenceEquals(list[^1], messages[i])) // an assignee who also follows hears it once
                {
                    list.Add(messages[i]);
                }
            }
        }

        if (heard.Count == 0)
        {
            return Task.CompletedTask;
        }

        var sends = new List<Task>(heard.Count);
        foreach (var (id, list) in heard)
        {
            sends.Add(list.Count == 1
                ? _sendTo!([id], ChatHubMethods.MessageReceived, list[0])
                : _sendTo!([id], ChatHubMethods.MessagesReceived, list.ToArray()));
        }

        return sends.Count == 1 ? sends[0] : Task.WhenAll(sends);
    }

    /// <summary>
    /// This node's agent connections that hear a conversation on their own: its assignee's and those that follow it
    /// (supervisors' hear it through their group).
    /// </summary>
    private static IEnumerable<string> Recipients(AgentRegistry registry, ChatConnections connections, string tenantId, long conversationId, string? assigneeId)
    {
        if (assigneeId is not null)
        {
            foreach (var id in registry.ConnectionsOf(tenantId, assigneeId))
            {
                if (!connections.IsSupervisor(id))
                {
                    yield return id;
                }
            }
        }

        foreach (var follower in connections.Followers(tenantId, conversationId))
        {
            if (follower.Caller is { } caller)
            {
                yield return caller.ConnectionId;
            }
        }
    }

    private void Observe(Task push, string method, string tenantId)
    {
        if (push.IsFaulted)
        {
            LogPushFailed(_logger, push.Exception.GetBaseException(), method, tenantId);
        }
    }

    /// <summary>
    /// An upper estimate of a message's size in a push (JSON may escape a character as six bytes), so a batch stays
    /// well under the clients' default 1 MB buffers.
    /// </summary>
    internal static int EstimatedBytes(ChatMessage message) => 512 + (6 * message.Content.Length);

    [LoggerMessage(EventId = 42, Level = LogLevel.Warning, Message = "Could not push {Method} to the agents of tenant '{TenantId}'; they catch up from Resume.")]
    private static partial void LogPushFailed(ILogger logger, Exception exception, string method, string tenantId);

    /// <summary>A push; <paramref name="Assignees"/> (one per message of a batch) routes it to the agents who hear its
    /// conversation, null sends it to every agent of the tenant.</summary>
    private sealed record Push(string Method, object Payload, string? Except, bool FromOtherNode = false, string?[]? Assignees = null);

    /// <summary>A tenant's queue; its loop starts with its first push (a queue that lost a race to be added never starts one).</summary>
    private sealed class TenantQueue(AgentFeed feed, string tenantId)
    {
        private int _started;

        public Channel<Push> Queue { get; } = Channel.CreateBounded<Push>(new BoundedChannelOptions(feed._capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });

        public Task? Loop { get; private set; }

        public void EnsureStarted()
        {
            if (Volatile.Read(ref _started) == 0 && Interlocked.Exchange(ref _started, 1) == 0)
            {
                Loop = Task.Run(() => feed.RunAsync(tenantId, Queue.Reader));
            }
        }
    }
}
