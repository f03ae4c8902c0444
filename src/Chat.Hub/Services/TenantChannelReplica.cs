using System.Collections.Concurrent;
using System.Text.Json;
using Chat.Protocol;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Chat.Hub.Services;

/// <summary>
/// Carries pushes a node sends to its own connections to the other nodes, one Redis channel per tenant, so every node
/// writes them to its own connections itself, by its own rules. Used for the agents' feed (<see cref="AgentFeedReplica"/>)
/// and for customers' pushes (<see cref="CustomerPushReplica"/>).
/// </summary>
/// <remarks>
/// SignalR's Redis backplane writes a push to a node's connections itself and waits for the slowest of them before the
/// next push on that channel (queueing what comes meanwhile without a bound), so one connection whose network went dark,
/// or whose client does not read, held up and piled up pushes for the others. Best effort, like every push: while Redis
/// is unreachable the other nodes' connections miss pushes and catch up from <c>Resume</c>. A node ignores its own
/// pushes coming back from Redis.
/// </remarks>
internal abstract class TenantChannelReplica
{
    private readonly ConcurrentDictionary<string, Lazy<Task>> _subscriptions = new(StringComparer.Ordinal);
    private readonly RedisLink _redis;
    private readonly ILogger _logger;
    private readonly string _channelPrefix;
    private readonly IReadOnlyDictionary<string, Type> _payloadTypes;
    private readonly Action<ILogger, string, Exception?> _logSubscribeFailed;
    private readonly Action<ILogger, string, string, Exception?> _logPublishFailed;
    private readonly Action<ILogger, string, Exception?> _logReadFailed;
    private volatile bool _publishFailing;

    /// <param name="redis">The node's Redis link.</param>
    /// <param name="logger">Where failures are logged.</param>
    /// <param name="channelPrefix">A tenant's channel is this prefix and the tenant id.</param>
    /// <param name="payloadTypes">The payload type of each method, to read a push another node published.</param>
    /// <param name="feed">What the channel carries, in the log messages (<c>agents' feed</c>).</param>
    /// <param name="audience">Whom it reaches, in the log messages (<c>agents</c>).</param>
    /// <param name="firstEventId">The event id of a failed subscription; a failed publication and an unreadable push take the next two.</param>
    protected TenantChannelReplica(RedisLink redis, ILogger logger, string channelPrefix, IReadOnlyDictionary<string, Type> payloadTypes,
        string feed, string audience, int firstEventId)
    {
        (_redis, _logger, _channelPrefix, _payloadTypes) = (redis, logger, channelPrefix, payloadTypes);
        _logSubscribeFailed = LoggerMessage.Define<string>(LogLevel.Warning, new EventId(firstEventId, "LogSubscribe"),
            $"Could not subscribe to the {feed} of tenant '{{TenantId}}' in Redis; this node's {audience} of that tenant miss other nodes' pushes and catch up from Resume.");
        _logPublishFailed = LoggerMessage.Define<string, string>(LogLevel.Warning, new EventId(firstEventId + 1, "LogPublish"),
            $"Could not publish {{Method}} to the other nodes' {audience} of tenant '{{TenantId}}'; they catch up from Resume. Not logged again until a push has been published.");
        _logReadFailed = LoggerMessage.Define<string>(LogLevel.Warning, new EventId(firstEventId + 2, "LogRead"),
            $"Could not read a push from another node for the {audience} of tenant '{{TenantId}}'; they catch up from Resume.");
    }

    /// <summary>
    /// Subscribes this node to a tenant's channel, once; <paramref name="deliver"/> gets each push another node
    /// published (method, payload, conversation id or 0, the connection to leave out, the assignees it was published
    /// with or null), in its order, unless
    /// <paramref name="wanted"/> says this node has no use for the conversation's pushes (their payload is then not
    /// even read). A failed subscription is logged and tried again on the next call.
    /// </summary>
    public async Task SubscribeAsync(string tenantId, Func<string, object, long, string?, string?[]?, ValueTask> deliver, Func<long, bool>? wanted = null)
    {
        var subscription = _subscriptions.GetOrAdd(tenantId, id => new Lazy<Task>(() => SubscribeCoreAsync(id, deliver, wanted)));
        try
        {
            await subscription.Value.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Whatever went wrong, the connection stays open and gets this node's own pushes.
            _logSubscribeFailed(_logger, tenantId, ex);
            // The client may keep a handler of the failed attempt and subscribe it when Redis is back: drop it, so the
            // next call subscribes once again instead of twice.
            _ = _redis.ConnectionIfReady?.GetSubscriber().UnsubscribeAsync(Channel(tenantId), handler: null, CommandFlags.FireAndForget);
            _subscriptions.TryRemove(new KeyValuePair<string, Lazy<Task>>(tenantId, subscription));
        }
    }

    /// <summary>
    /// Publishes a push of this node to the other nodes, in the order of the calls; waits only for the connection's
    /// set-up, never for Redis's answer. <paramref name="assignees"/> (the agents' feed's routes) go with it.
    /// </summary>
    public async ValueTask PublishAsync(string tenantId, string method, object payload, long conversationId, string? exceptConnectionId, string?[]? assignees = null)
    {
        try
        {
            var connection = _redis.ConnectionIfReady ?? await _redis.Connection.ConfigureAwait(false);
            var push = _redis.Message((method, payload, conversationId, exceptConnectionId, assignees), static (writer, push) =>
            {
                writer.WriteString("m"u8, push.method);
                writer.WriteNumber("c"u8, push.conversationId);
                writer.WriteString("x"u8, push.exceptConnectionId);
                if (push.assignees is not null)
                {
                    writer.WriteStartArray("a"u8);
                    foreach (var assignee in push.assignees)
                    {
                        writer.WriteStringValue(assignee);
                    }

                    writer.WriteEndArray();
                }
                writer.WritePropertyName("p"u8);
                JsonSerializer.Serialize(writer, push.payload, push.payload.GetType(), ChatJson.Options);
            });
            connection.GetSubscriber().Publish(Channel(tenantId), push, CommandFlags.FireAndForget);
            _publishFailing = false;
        }
        catch (Exception ex)
        {
            // Whatever went wrong, this node's own connections have the push. Logged when publishing starts failing,
            // not for every push while Redis stays unreachable.
            if (!_publishFailing)
            {
                _publishFailing = true;
                _logPublishFailed(_logger, method, tenantId, ex);
            }
        }
    }

    private RedisChannel Channel(string tenantId) => RedisChannel.Literal(_channelPrefix + tenantId);

    // Handled one at a time, in order; a handler takes a push at once.
    private Task SubscribeCoreAsync(string tenantId, Func<string, object, long, string?, string?[]?, ValueTask> deliver, Func<long, bool>? wanted) =>
        _redis.SubscribeAsync(Channel(tenantId), push =>
        {
            if (wanted is not null && push.TryGetProperty("c"u8, out var c) && c.TryGetInt64(out var id) && !wanted(id))
            {
                return ValueTask.CompletedTask;
            }

            var (method, payload, conversationId, except, assignees) = Read(push);
            return deliver(method, payload, conversationId, except, assignees);
        }, ex => _logReadFailed(_logger, tenantId, ex));

    /// <summary>Reads a push another node published; throws for a method this version does not know, or a payload of the wrong shape.</summary>
    private (string Method, object Payload, long ConversationId, string? Except, string?[]? Assignees) Read(JsonElement push)
    {
        var method = push.GetProperty("m"u8).GetString()!;
        if (!_payloadTypes.TryGetValue(method, out var type))
        {
            throw new NotSupportedException($"A push of '{method}', which this node does not know.");
        }

        var payload = push.GetProperty("p"u8).Deserialize(type, ChatJson.Options)
            ?? throw new JsonException($"A push of '{method}' without a payload.");
        var conversationId = push.TryGetProperty("c"u8, out var c) ? c.GetInt64() : 0;
        string?[]? assignees = null;
        if (push.TryGetProperty("a"u8, out var a))
        {
            assignees = a.EnumerateArray().Select(static e => e.GetString()).ToArray();
            var count = payload is ChatMessage[] batch ? batch.Length : 1;
            if (assignees.Length != count)
            {
                throw new JsonException($"A push of '{method}' with {assignees.Length} routes for {count} payloads.");
            }
        }

        return (method, payload, conversationId, push.GetProperty("x"u8).GetString(), assignees);
    }
}
