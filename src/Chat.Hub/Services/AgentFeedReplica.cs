using Chat.Protocol;
using Microsoft.Extensions.Logging;

namespace Chat.Hub.Services;

/// <summary>
/// Carries each tenant's <see cref="AgentFeed"/> between nodes through Redis (<c>Chat.AgentFeed:{tenant}</c>, events 43
/// to 45), so every node writes the feed to its own agent connections itself, with the feed's rules (batches, a
/// connection that takes nothing holds up nobody else). Agent connections are served by their own node (a node-local
/// SignalR lifetime manager); a node subscribes to a tenant's channel when that tenant's first agent connects to it.
/// </summary>
internal sealed class AgentFeedReplica(RedisLink redis, ILogger<AgentFeedReplica> logger)
    : TenantChannelReplica(redis, logger, "Chat.AgentFeed:", Types, feed: "agents' feed", audience: "agents", firstEventId: 43)
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
}
