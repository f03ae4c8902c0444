using Chat.Protocol;
using Microsoft.Extensions.Logging;

namespace Chat.Hub.Services;

/// <summary>
/// Carries pushes to a tenant's customers between nodes through Redis (<c>Chat.Customers:{tenant}</c>, events 53 to
/// 55), so every node writes them to its own customer connections of the conversation itself, each bounded by
/// <see cref="ChatHubOptions.CustomerBacklogBytes"/> (see <see cref="ConversationService.PushToCustomers"/>). Customer
/// connections are served by their own node; a node subscribes to a tenant's channel when that tenant's first customer
/// joins a conversation on it.
/// </summary>
internal sealed class CustomerPushReplica(RedisLink redis, ILogger<CustomerPushReplica> logger)
    : TenantChannelReplica(redis, logger, "Chat.Customers:", Types, feed: "customers' pushes", audience: "customers", firstEventId: 53)
{
    private static readonly Dictionary<string, Type> Types = new(StringComparer.Ordinal)
    {
        [ChatHubMethods.MessageReceived] = typeof(ChatMessage),
        [ChatHubMethods.ConversationChanged] = typeof(Conversation),
        [ChatHubMethods.TypingReceived] = typeof(TypingEvent),
        [ChatHubMethods.ReadReceived] = typeof(ReadEvent),
    };
}
