using System.Collections.Concurrent;
using System.Diagnostics;
using Chat.Hub.Security;
using Microsoft.AspNetCore.SignalR;

namespace Chat.Hub.Hubs;

/// <summary>
/// What the framework keeps per hub connection, in one small object: the call-rate bucket, the conversation a customer
/// proved it owns and the one whose pushes it follows, the conversations an agent connection follows, the bytes of pushes waiting to be written to it, and the send
/// templates the client holds (see <see cref="SendAnswers"/>).
/// </summary>
/// <remarks>
/// Not kept in <c>HubCallerContext.Items</c>: that is a <see cref="ConcurrentDictionary{TKey, TValue}"/> sized for
/// concurrent writers, about 700 bytes per connection before anything is in it, and idle connections are what a node
/// holds most of (docs/benchmarks.md, idle memory).
/// </remarks>
internal sealed class ChatConnection(int burst, int perSecond)
{
    private readonly Lock _lock = new();
    private double _tokens = burst;
    private long _last = Stopwatch.GetTimestamp();
    private long _backlog;
    private int _closing;
    private Dictionary<(long Conversation, bool IsPrivate), IReadOnlyDictionary<string, string>>? _templates;

    /// <summary>The connection's context: its id, and <see cref="HubCallerContext.Abort"/> to close it.</summary>
    public HubCallerContext? Caller { get; init; }

    /// <summary>
    /// Who the connection's claims say it is, read from them once (a connection's user never changes) rather than on
    /// every call: the hubs set it at their first need.
    /// </summary>
    public ChatCaller? Identity { get; set; }

    /// <summary>
    /// The conversation this customer connection last proved it owns (ownership never changes), as its pushes last told
    /// it (status, assignee), for the plugins of its next sends.
    /// </summary>
    public Conversation? Owned { get; set; }

    /// <summary>The conversation whose live pushes this customer connection gets (<see cref="ChatConnections.Join"/>).</summary>
    public (string TenantId, long ConversationId)? Joined { get; set; }

    /// <summary>
    /// The conversations this agent connection follows besides its agent's own (<see cref="ChatConnections.Follow"/>),
    /// oldest first; null until it follows one. Changed under the index's lock.
    /// </summary>
    public List<(string TenantId, long ConversationId)>? Followed { get; set; }

    /// <summary>
    /// The tenant of a supervisor's connection, which hears every message of it (<see cref="ChatConnections.AddSupervisor"/>);
    /// null for others. Changed under the index's lock.
    /// </summary>
    public string? SupervisorOf { get; set; }

    /// <summary>
    /// Counts <paramref name="bytes"/> of a push as waiting to be written to this connection, unless that would take the
    /// waiting bytes over <paramref name="max"/>; false then, and nothing is counted.
    /// </summary>
    public bool TryAddBacklog(long bytes, long max)
    {
        if (Interlocked.Add(ref _backlog, bytes) <= max)
        {
            return true;
        }

        Interlocked.Add(ref _backlog, -bytes);
        return false;
    }

    /// <summary>A push counted by <see cref="TryAddBacklog"/> was written (or failed).</summary>
    public void RemoveBacklog(long bytes) => Interlocked.Add(ref _backlog, -bytes);

    /// <summary>True the first time only: the caller is the one to close the connection.</summary>
    public bool TryMarkClosing() => Interlocked.Exchange(ref _closing, 1) == 0;

    /// <summary>Takes one call from the connection's token bucket; false when the connection is over its rate.</summary>
    public bool TryTakeCall()
    {
        lock (_lock)
        {
            var now = Stopwatch.GetTimestamp();
            _tokens = Math.Min(burst, _tokens + (Stopwatch.GetElapsedTime(_last, now).TotalSeconds * perSecond));
            _last = now;
            if (_tokens < 1)
            {
                return false;
            }

            _tokens -= 1;
            return true;
        }
    }

    /// <summary>
    /// Records that the client now holds <paramref name="metadata"/> as its template for a conversation and privacy;
    /// true when it held that one already (its sends can then be answered without the message).
    /// </summary>
    public bool HoldsTemplate(long conversationId, bool isPrivate, IReadOnlyDictionary<string, string> metadata)
    {
        lock (_lock)
        {
            _templates ??= [];
            if (_templates.TryGetValue((conversationId, isPrivate), out var held) && ReferenceEquals(held, metadata))
            {
                return true;
            }

            _templates[(conversationId, isPrivate)] = metadata;
            return false;
        }
    }
}

/// <summary>The <see cref="ChatConnection"/> of every open connection of the framework's hubs, by connection id.</summary>
internal sealed class ChatConnections
{
    private readonly ConcurrentDictionary<string, ChatConnection> _connections = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string TenantId, long ConversationId), ChatConnection[]> _customers = new();
    private readonly ConcurrentDictionary<(string TenantId, long ConversationId), ChatConnection[]> _followers = new();
    private readonly ConcurrentDictionary<string, int> _supervisors = new(StringComparer.Ordinal);
    private readonly Lock _joins = new();

    /// <summary>How many conversations one agent connection follows at most; following one more stops the oldest.</summary>
    public const int MaxFollowed = 1000;

    /// <summary>How many connections are open (both hubs).</summary>
    public int Count => _connections.Count;

    /// <summary>The state of an open connection. Throws when the connection did not go through <see cref="ChatHubFilter"/>.</summary>
    public ChatConnection this[string connectionId] => _connections.TryGetValue(connectionId, out var connection)
        ? connection
        : throw new InvalidOperationException($"Connection {connectionId} is not open on a Chat hub.");

    /// <summary>Whether a connection is open on a Chat hub.</summary>
    public bool Contains(string connectionId) => _connections.ContainsKey(connectionId);

    public void Add(string connectionId, ChatConnection connection) => _connections[connectionId] = connection;

    public void Remove(string connectionId)
    {
        // Under the lock even when it joined nothing yet: a Join running now either sees it gone or is undone here. The
        // indexes first, the connection last: once it is no longer counted (Count, Contains), nothing of it is left in
        // them for a reader to find.
        lock (_joins)
        {
            if (!_connections.TryGetValue(connectionId, out var connection))
            {
                return;
            }

            Leave(connection);
            if (connection.Followed is { } followed)
            {
                foreach (var key in followed)
                {
                    Remove(_followers, key, connection);
                }

                followed.Clear();
            }

            if (connection.SupervisorOf is { } tenant)
            {
                _supervisors.AddOrUpdate(tenant, 0, static (_, n) => n - 1);
            }

            _connections.TryRemove(connectionId, out _);
        }
    }

    /// <summary>An agent connection of a supervisor: it hears every message of the tenant (through the supervisors' group).</summary>
    public void AddSupervisor(ChatConnection connection, string tenantId)
    {
        lock (_joins)
        {
            if (connection.SupervisorOf is null && _connections.ContainsKey(connection.Caller?.ConnectionId ?? string.Empty))
            {
                connection.SupervisorOf = tenantId;
                _supervisors.AddOrUpdate(tenantId, 1, static (_, n) => n + 1);
            }
        }
    }

    /// <summary>Whether any supervisor of the tenant is connected to this node.</summary>
    public bool AnySupervisors(string tenantId) => _supervisors.TryGetValue(tenantId, out var n) && n > 0;

    /// <summary>Whether a connection is a supervisor's (which hears a conversation through the supervisors' group, not on its own).</summary>
    public bool IsSupervisor(string connectionId) => _connections.TryGetValue(connectionId, out var connection) && connection.SupervisorOf is not null;

    /// <summary>
    /// An agent connection follows a conversation's live messages, typing and read receipts from now on, besides those
    /// of the conversations assigned to its agent; at most <see cref="MaxFollowed"/> at once, the oldest stops first.
    /// </summary>
    /// <returns>The conversation that stopped to make room, which the connection is told of; or null.</returns>
    public long? Follow(ChatConnection connection, string tenantId, long conversationId)
    {
        var key = (tenantId, conversationId);
        lock (_joins)
        {
            if (!_connections.ContainsKey(connection.Caller?.ConnectionId ?? string.Empty))
            {
                return null; // closed meanwhile
            }

            var followed = connection.Followed ??= [];
            if (followed.Remove(key))
            {
                followed.Add(key); // the newest again
                return null;
            }

            long? ended = null;
            if (followed.Count == MaxFollowed)
            {
                Remove(_followers, followed[0], connection);
                ended = followed[0].ConversationId;
                followed.RemoveAt(0);
            }

            followed.Add(key);
            _followers[key] = _followers.TryGetValue(key, out var members) ? [.. members, connection] : [connection];
            return ended;
        }
    }

    /// <summary>Whether an agent connection follows a conversation now.</summary>
    public bool Follows(ChatConnection connection, string tenantId, long conversationId)
    {
        lock (_joins)
        {
            return connection.Followed?.Contains((tenantId, conversationId)) == true;
        }
    }

    /// <summary>An agent connection no longer follows a conversation (its agent's own conversations it hears still).</summary>
    public void Unfollow(ChatConnection connection, string tenantId, long conversationId)
    {
        var key = (tenantId, conversationId);
        lock (_joins)
        {
            if (connection.Followed?.Remove(key) == true)
            {
                Remove(_followers, key, connection);
            }
        }
    }

    /// <summary>The agent connections of this node that follow a conversation (read without a lock: each entry is replaced, never changed).</summary>
    public ChatConnection[] Followers(string tenantId, long conversationId) =>
        _followers.TryGetValue((tenantId, conversationId), out var members) ? members : [];

    /// <summary>
    /// A customer connection follows a conversation's live pushes from now on (and no longer the one it followed
    /// before). The node's own index of who gets a conversation's pushes: a SignalR group costs a concurrent
    /// dictionary per conversation, and a push through it cannot tell which connection is behind.
    /// </summary>
    public void Join(ChatConnection connection, string tenantId, long conversationId)
    {
        var key = (tenantId, conversationId);
        lock (_joins)
        {
            if (connection.Joined == key || !_connections.ContainsKey(connection.Caller?.ConnectionId ?? string.Empty))
            {
                return; // joined already, or closed meanwhile
            }

            Leave(connection);
            connection.Joined = key;
            _customers[key] = _customers.TryGetValue(key, out var members) ? [.. members, connection] : [connection];
        }
    }

    /// <summary>The connections of this node that follow a conversation's live pushes (read without a lock: each entry is replaced, never changed).</summary>
    public ChatConnection[] Customers(string tenantId, long conversationId) =>
        _customers.TryGetValue((tenantId, conversationId), out var members) ? members : [];

    // Under _joins.
    private void Leave(ChatConnection connection)
    {
        if (connection.Joined is not { } key)
        {
            return;
        }

        connection.Joined = null;
        Remove(_customers, key, connection);
    }

    // Under _joins.
    private static void Remove(ConcurrentDictionary<(string TenantId, long ConversationId), ChatConnection[]> index, (string, long) key, ChatConnection connection)
    {
        if (index.TryGetValue(key, out var members))
        {
            var rest = Array.FindAll(members, m => !ReferenceEquals(m, connection));
            if (rest.Length == 0)
            {
                index.TryRemove(key, out _);
            }
            else
            {
                index[key] = rest;
            }
        }
    }
}
