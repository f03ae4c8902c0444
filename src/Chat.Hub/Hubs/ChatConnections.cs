using System.Collections.Concurrent;
using System.Diagnostics;

namespace Chat.Hub.Hubs;

/// <summary>
/// What the framework keeps per hub connection, in one small object: the call-rate bucket, the conversation a customer
/// proved it owns, and the send templates the client holds (see <see cref="SendAnswers"/>).
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
    private Dictionary<(long Conversation, bool IsPrivate), IReadOnlyDictionary<string, string>>? _templates;

    /// <summary>The conversation this customer connection last proved it owns (ownership never changes).</summary>
    public Conversation? Owned { get; set; }

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

    /// <summary>How many connections are open (both hubs).</summary>
    public int Count => _connections.Count;

    /// <summary>The state of an open connection. Throws when the connection did not go through <see cref="ChatHubFilter"/>.</summary>
    public ChatConnection this[string connectionId] => _connections.TryGetValue(connectionId, out var connection)
        ? connection
        : throw new InvalidOperationException($"Connection {connectionId} is not open on a Chat hub.");

    /// <summary>Whether a connection is open on a Chat hub.</summary>
    public bool Contains(string connectionId) => _connections.ContainsKey(connectionId);

    public void Add(string connectionId, ChatConnection connection) => _connections[connectionId] = connection;

    public void Remove(string connectionId) => _connections.TryRemove(connectionId, out _);
}
