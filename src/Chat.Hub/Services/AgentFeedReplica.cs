using Chat.Protocol;
using Microsoft.Extensions.Logging;

namespace Chat.Hub.Services;

/// <summary>
/// Carries each tenant's <see cref="AgentFeed"/> between nodes through Redis, so every node writes the feed to its own
/// agent connections itself, with the feed's rules (batches, a connection that takes nothing holds up nobody else).
/// Agent connections are served by their own node (a node-local SignalR lifetime manager); a node subscribes to a
/// tenant's channel when that tenant's first agent connects to it.
/// </summary>
internal sealed partial class AgentFeedReplica(RedisLink redis, ILogger<AgentFeedReplica> logger) : TenantChannelReplica(redis)
{
    private static readonly Dictionary<string, Type> Types = new(StringComparer.Ordinal)
    {
        [ChatHubMethods.MessageReceived] = typeof(ChatMessage),
        [ChatHubMethods.MessagesReceived] = typeof(ChatMessage[]),
        [ChatHubMethods.ConversationChanged] = typeof(Conversation),
        [ChatHubMethods.DeliveryChanged] = typeof(DeliveryEvent),
        [ChatHubMethods.TypingReceived] = typeof(TypingEvent),
        [ChatHubMethods.ReadReceived] = typeof(ReadEvent),
    };

    protected override string ChannelPrefix => "Chat.AgentFeed:";

    protected override IReadOnlyDictionary<string, Type> PayloadTypes => Types;

    protected override void LogSubscribeFailed(Exception exception, string tenantId) => LogSubscribe(logger, exception, tenantId);

    protected override void LogPublishFailed(Exception exception, string method, string tenantId) => LogPublish(logger, exception, method, tenantId);

    protected override void LogReadFailed(Exception exception, string tenantId) => LogRead(logger, exception, tenantId);

    [LoggerMessage(EventId = 43, Level = LogLevel.Warning, Message = "Could not subscribe to the agents' feed of tenant '{TenantId}' in Redis; this node's agents of that tenant miss other nodes' pushes and catch up from Resume.")]
    private static partial void LogSubscribe(ILogger logger, Exception exception, string tenantId);

    [LoggerMessage(EventId = 44, Level = LogLevel.Warning, Message = "Could not publish {Method} to the other nodes' agents of tenant '{TenantId}'; they catch up from Resume. Not logged again until a push has been published.")]
    private static partial void LogPublish(ILogger logger, Exception exception, string method, string tenantId);

    [LoggerMessage(EventId = 45, Level = LogLevel.Warning, Message = "Could not read a push from another node for the agents of tenant '{TenantId}'; they catch up from Resume.")]
    private static partial void LogRead(ILogger logger, Exception exception, string tenantId);
}
