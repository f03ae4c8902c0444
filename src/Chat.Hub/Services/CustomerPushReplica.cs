using Chat.Protocol;
using Microsoft.Extensions.Logging;

namespace Chat.Hub.Services;

/// <summary>
/// Carries pushes to a tenant's customers between nodes through Redis, so every node writes them to its own customer
/// connections of the conversation itself, each bounded by <see cref="ChatHubOptions.CustomerBacklogBytes"/> (see
/// <see cref="ConversationService.PushToCustomers"/>). Customer connections are served by their own node; a node
/// subscribes to a tenant's channel when that tenant's first customer joins a conversation on it.
/// </summary>
internal sealed partial class CustomerPushReplica(RedisLink redis, ILogger<CustomerPushReplica> logger) : TenantChannelReplica(redis)
{
    private static readonly Dictionary<string, Type> Types = new(StringComparer.Ordinal)
    {
        [ChatHubMethods.MessageReceived] = typeof(ChatMessage),
        [ChatHubMethods.ConversationChanged] = typeof(Conversation),
        [ChatHubMethods.TypingReceived] = typeof(TypingEvent),
        [ChatHubMethods.ReadReceived] = typeof(ReadEvent),
    };

    protected override string ChannelPrefix => "Chat.Customers:";

    protected override IReadOnlyDictionary<string, Type> PayloadTypes => Types;

    protected override void LogSubscribeFailed(Exception exception, string tenantId) => LogSubscribe(logger, exception, tenantId);

    protected override void LogPublishFailed(Exception exception, string method, string tenantId) => LogPublish(logger, exception, method, tenantId);

    protected override void LogReadFailed(Exception exception, string tenantId) => LogRead(logger, exception, tenantId);

    [LoggerMessage(EventId = 53, Level = LogLevel.Warning, Message = "Could not subscribe to the customers' pushes of tenant '{TenantId}' in Redis; this node's customers of that tenant miss other nodes' pushes and catch up from Resume.")]
    private static partial void LogSubscribe(ILogger logger, Exception exception, string tenantId);

    [LoggerMessage(EventId = 54, Level = LogLevel.Warning, Message = "Could not publish {Method} to the other nodes' customers of tenant '{TenantId}'; they catch up from Resume. Not logged again until a push has been published.")]
    private static partial void LogPublish(ILogger logger, Exception exception, string method, string tenantId);

    [LoggerMessage(EventId = 55, Level = LogLevel.Warning, Message = "Could not read a push from another node for the customers of tenant '{TenantId}'; they catch up from Resume.")]
    private static partial void LogRead(ILogger logger, Exception exception, string tenantId);
}
