using System.Collections.Concurrent;
using System.Text.Json;
using Chat.Protocol;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Chat.Hub.Services;

/// <summary>
/// Carries each tenant's <see cref="AgentFeed"/> between nodes through Redis, so every node writes the feed to its own
/// agent connections itself, with the feed's rules (batches, a connection that takes nothing holds up nobody else).
/// </summary>
/// <remarks>
/// <para>
/// Agent connections are served by their own node (a node-local SignalR lifetime manager); only the feed's pushes
/// travel, one Redis message each on the tenant's channel, in the order the publishing node's feed sends them. A node
/// subscribes to a tenant's channel when that tenant's first agent connects to it. SignalR's Redis backplane would
/// write a push to a node's connections itself and wait for the slowest of them before the next push on that channel,
/// so one agent whose network went dark held up that node's other agents until SignalR closed the connection.
/// </para>
/// <para>
/// Best effort, like every push: while Redis is unreachable the other nodes' agents miss pushes and catch up from
/// <c>Resume</c>. A node ignores its own pushes coming back from Redis.
/// </para>
/// </remarks>
internal sealed partial class AgentFeedReplica(RedisLink redis, ILogger<AgentFeedReplica> logger)
{
    /// <summary>The payload type of each method the feed pushes, to read a push another node published.</summary>
    private static readonly Dictionary<string, Type> PayloadTypes = new(StringComparer.Ordinal)
    {
        [ChatHubMethods.MessageReceived] = typeof(ChatMessage),
        [ChatHubMethods.MessagesReceived] = typeof(ChatMessage[]),
        [ChatHubMethods.ConversationChanged] = typeof(Conversation),
        [ChatHubMethods.DeliveryChanged] = typeof(DeliveryEvent),
        [ChatHubMethods.TypingReceived] = typeof(TypingEvent),
        [ChatHubMethods.ReadReceived] = typeof(ReadEvent),
    };

    private readonly ConcurrentDictionary<string, Lazy<Task>> _subscriptions = new(StringComparer.Ordinal);
    private volatile bool _publishFailing;

    /// <summary>
    /// Subscribes this node to a tenant's channel, once; <paramref name="deliver"/> gets each push another node
    /// published, in its order. A failed subscription is logged and tried again with the tenant's next agent.
    /// </summary>
    public async Task SubscribeAsync(string tenantId, Func<string, object, string?, ValueTask> deliver)
    {
        var subscription = _subscriptions.GetOrAdd(tenantId, id => new Lazy<Task>(() => SubscribeCoreAsync(id, deliver)));
        try
        {
            await subscription.Value.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Whatever went wrong, the agent stays connected and gets this node's own pushes.
            LogSubscribeFailed(logger, ex, tenantId);
            // The client may keep a handler of the failed attempt and subscribe it when Redis is back: drop it, so the
            // tenant's next agent subscribes once again instead of twice.
            _ = redis.ConnectionIfReady?.GetSubscriber().UnsubscribeAsync(Channel(tenantId), handler: null, CommandFlags.FireAndForget);

            _subscriptions.TryRemove(new KeyValuePair<string, Lazy<Task>>(tenantId, subscription));
        }
    }

    /// <summary>
    /// Publishes a push of this node's feed to the other nodes, in the order of the calls; waits only for the
    /// connection's set-up, never for Redis's answer.
    /// </summary>
    public async ValueTask PublishAsync(string tenantId, string method, object payload, string? exceptConnectionId)
    {
        try
        {
            var connection = redis.ConnectionIfReady ?? await redis.Connection.ConfigureAwait(false);
            var push = redis.Message((method, payload, exceptConnectionId), static (writer, push) =>
            {
                writer.WriteString("m"u8, push.method);
                writer.WriteString("x"u8, push.exceptConnectionId);
                writer.WritePropertyName("p"u8);
                JsonSerializer.Serialize(writer, push.payload, push.payload.GetType(), ChatJson.Options);
            });
            connection.GetSubscriber().Publish(Channel(tenantId), push, CommandFlags.FireAndForget);
            _publishFailing = false;
        }
        catch (Exception ex)
        {
            // Whatever went wrong, the feed goes on with this node's agents. Logged when publishing starts failing, not
            // for every push while Redis stays unreachable.
            if (!_publishFailing)
            {
                _publishFailing = true;
                LogPublishFailed(logger, ex, method, tenantId);
            }
        }
    }

    private static RedisChannel Channel(string tenantId) => RedisChannel.Literal("Chat.AgentFeed:" + tenantId);

    // Handled one at a time, in order; the feed's queue takes a push at once unless it is full.
    private Task SubscribeCoreAsync(string tenantId, Func<string, object, string?, ValueTask> deliver) =>
        redis.SubscribeAsync(Channel(tenantId), push =>
        {
            var (method, payload, except) = Read(push);
            return deliver(method, payload, except);
        }, ex => LogReadFailed(logger, ex, tenantId));

    /// <summary>Reads a push another node published; throws for a method this version does not know, or a payload of the wrong shape.</summary>
    private static (string Method, object Payload, string? Except) Read(JsonElement push)
    {
        var method = push.GetProperty("m"u8).GetString()!;
        if (!PayloadTypes.TryGetValue(method, out var type))
        {
            throw new NotSupportedException($"A push of '{method}', which this node does not know.");
        }

        var payload = push.GetProperty("p"u8).Deserialize(type, ChatJson.Options)
            ?? throw new JsonException($"A push of '{method}' without a payload.");
        return (method, payload, push.GetProperty("x"u8).GetString());
    }

    [LoggerMessage(EventId = 43, Level = LogLevel.Warning, Message = "Could not subscribe to the agents' feed of tenant '{TenantId}' in Redis; this node's agents of that tenant miss other nodes' pushes and catch up from Resume.")]
    private static partial void LogSubscribeFailed(ILogger logger, Exception exception, string tenantId);

    [LoggerMessage(EventId = 44, Level = LogLevel.Warning, Message = "Could not publish {Method} to the other nodes' agents of tenant '{TenantId}'; they catch up from Resume. Not logged again until a push has been published.")]
    private static partial void LogPublishFailed(ILogger logger, Exception exception, string method, string tenantId);

    [LoggerMessage(EventId = 45, Level = LogLevel.Warning, Message = "Could not read a push from another node for the agents of tenant '{TenantId}'; they catch up from Resume.")]
    private static partial void LogReadFailed(ILogger logger, Exception exception, string tenantId);
}
