using Chat.Plugins;

namespace Chat.Protocol;

/// <summary>A message a customer or an agent sends through a hub.</summary>
public sealed class SendRequest
{
    /// <summary>The conversation to send to.</summary>
    public long ConversationId { get; init; }

    /// <summary>The sender's own id for the message, unique per conversation; a retry with the same id is stored once
    /// and answered with the first result. Required, at most 64 characters.</summary>
    public string ClientMessageId { get; init; } = string.Empty;

    /// <summary>What <see cref="Content"/> holds: text, image or file (an URL or media id).</summary>
    public MessageKind Kind { get; init; }

    /// <summary>The text, or the image's or file's URL.</summary>
    public string Content { get; init; } = string.Empty;

    /// <summary>Agents only: a private note, which customers never receive.</summary>
    public bool IsPrivate { get; init; }
}

/// <summary>What a hub answers to a send, once the message is durably stored.</summary>
/// <remarks>
/// The hub does not push a message back to the connection that sent it, and most answers leave the stored message
/// out, because it is what the sender sent: the first answer of a connection for a conversation (and for notes or
/// replies) carries it in full as a template (<see cref="IsTemplate"/>), and later ones only when it cannot be
/// rebuilt from the request. Chat.Client does this for its callers.
/// </remarks>
public sealed class SendResult
{
    /// <summary>The message's id.</summary>
    public long Id { get; init; }

    /// <summary>The message's gap-free position in its conversation.</summary>
    public long Seq { get; init; }

    /// <summary>When the message was stored.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>True when the message was a retry of one already stored; <see cref="Id"/> and <see cref="Seq"/> are the original's.</summary>
    public bool IsDuplicate { get; init; }

    /// <summary>
    /// The stored message, when the sender cannot rebuild it from its request: a plugin changed it, the send was a
    /// retry (the original is returned), or it is this connection's first of its conversation (notes and replies
    /// counted apart). Null otherwise: the stored message is then the <see cref="IsTemplate"/> message of the same
    /// conversation (and privacy) with this request's kind, content and client message id and this answer's
    /// <see cref="Id"/>, <see cref="Seq"/> and <see cref="CreatedAt"/>.
    /// </summary>
    public ChatMessage? Message { get; init; }

    /// <summary>
    /// True when <see cref="Message"/> is exactly the request as sent: keep it as the template that later answers
    /// for the same conversation and privacy (<see cref="SendRequest.IsPrivate"/>) leave out.
    /// </summary>
    public bool IsTemplate { get; init; }
}

/// <summary>Asks for the messages of a conversation after a seq.</summary>
public sealed class ResumeRequest
{
    /// <summary>The conversation.</summary>
    public long ConversationId { get; init; }

    /// <summary>The last seq the caller has; zero for the whole history.</summary>
    public long AfterSeq { get; init; }

    /// <summary>The most messages to return, 1 to 500; a full page means there may be more.</summary>
    public int Limit { get; init; } = 200;

    /// <summary>
    /// Agents only: whether the connection follows the conversation from now on, hearing its messages live (default
    /// true). False reads the history and changes nothing in what the connection hears: for a client catching up a
    /// conversation it hears anyway, such as one assigned to its agent. Customers' connections ignore it.
    /// </summary>
    public bool Follow { get; init; } = true;
}

/// <summary>Asks for a page of the agent's tenant's conversations, newest activity first (<see cref="ChatHubMethods.ListConversationsPage"/>).</summary>
public sealed class ConversationListRequest
{
    /// <summary>Only conversations in this status, if set.</summary>
    public ConversationStatus? Status { get; init; }

    /// <summary>Only the calling agent's own conversations (those assigned to it).</summary>
    public bool Mine { get; init; }

    /// <summary>The most conversations to return, 1 to 1,000 (default 50); a full page means there may be more.</summary>
    public int Limit { get; init; } = 50;

    /// <summary>Where the page starts: after the previous page's last conversation (<see cref="ConversationCursor.After"/>); null for the first.</summary>
    public ConversationCursor? After { get; init; }
}

/// <summary>Somebody is typing in a conversation.</summary>
public sealed class TypingEvent
{
    /// <summary>The conversation.</summary>
    public long ConversationId { get; init; }

    /// <summary>Whether a customer or an agent is typing.</summary>
    public SenderKind SenderKind { get; init; }

    /// <summary>Who is typing.</summary>
    public string SenderId { get; init; } = string.Empty;
}

/// <summary>Somebody has read a conversation up to a seq.</summary>
public sealed class ReadEvent
{
    /// <summary>The conversation.</summary>
    public long ConversationId { get; init; }

    /// <summary>Whether a customer or an agent read it.</summary>
    public SenderKind ReaderKind { get; init; }

    /// <summary>Who read it.</summary>
    public string ReaderId { get; init; } = string.Empty;

    /// <summary>The last seq read.</summary>
    public long Seq { get; init; }
}

/// <summary>The state of one outbound message's delivery to its platform, for agents.</summary>
public sealed class DeliveryEvent
{
    /// <summary>The conversation.</summary>
    public long ConversationId { get; init; }

    /// <summary>The message.</summary>
    public long MessageId { get; init; }

    /// <summary>The message's seq.</summary>
    public long Seq { get; init; }

    /// <summary>Sent, retrying or failed.</summary>
    public DeliveryStatus Status { get; init; }

    /// <summary>Why a retry is needed or why the delivery failed.</summary>
    public string? Reason { get; init; }

    /// <summary>The attempt that ended in this state, from 1.</summary>
    public int Attempt { get; init; }
}

/// <summary>An agent's availability for new conversations.</summary>
public enum AgentPresence
{
    /// <summary>Not taking conversations.</summary>
    Offline = 0,

    /// <summary>Taking conversations up to the agent's capacity.</summary>
    Online = 1,

    /// <summary>Connected but not taking new conversations.</summary>
    Away = 2,
}

/// <summary>Metadata keys the framework itself gives meaning to.</summary>
public static class MessageMetadataKeys
{
    /// <summary><c>"true"</c> on an agent's private note: stored and shown to agents, never sent to the customer or a platform.</summary>
    public const string Private = "chat.private";

    /// <summary><c>"true"</c> on a message to be delivered to its platform: the store writes its outbox entry in the same transaction.</summary>
    public const string Deliver = "chat.deliver";

    /// <summary>
    /// On an inbound message: cards a plugin attached for the agent (order and parcel cards from an ERP), a JSON array
    /// of objects, each with a <c>type</c> (<c>order</c>, <c>unavailable</c>) and the card's fields.
    /// </summary>
    public const string Cards = "chat.cards";

    /// <summary>
    /// On an event message: the platform message id of an earlier message the customer recalled. The log stays append-only;
    /// clients show the earlier message (same channel, same <see cref="ChatMessage.PlatformMessageId"/> or
    /// <see cref="PlatformMessageKey"/>) as recalled.
    /// </summary>
    public const string Recalls = "chat.recalls";

    /// <summary>
    /// The platform's own id of a message when <see cref="ChatMessage.PlatformMessageId"/> holds a push id instead
    /// (Douyin dedupes on the push's <c>Msg-Id</c>, and recalls name the <c>server_message_id</c>).
    /// </summary>
    public const string PlatformMessageKey = "chat.platform_message";
}

/// <summary>The calling agent as the agent hub sees it (<see cref="ChatHubMethods.WhoAmI"/>): who it is and what its connection hears.</summary>
public sealed class AgentSelf
{
    /// <summary>The agent's tenant.</summary>
    public string TenantId { get; init; } = string.Empty;

    /// <summary>The agent's id, as conversations' <see cref="Conversation.AssigneeId"/> name it.</summary>
    public string AgentId { get; init; } = string.Empty;

    /// <summary>The agent's teams.</summary>
    public IReadOnlyList<string> Teams { get; init; } = [];

    /// <summary>Whether the agent is a supervisor (hears every conversation of the tenant).</summary>
    public bool IsSupervisor { get; init; }

    /// <summary>
    /// Whether the connection hears every conversation of the tenant live (a supervisor, or a hub where every agent
    /// does), not only those assigned to its agent and those it follows.
    /// </summary>
    public bool HearsEveryConversation { get; init; }

    /// <summary>
    /// The hub's clock when it answered: a client that reconnects later asks for what changed since about then, at
    /// the latest (clocks of the hub's nodes and of its database may differ by a little).
    /// </summary>
    public DateTimeOffset ServerTime { get; init; }
}

/// <summary>A page of a conversation's messages, oldest first.</summary>
public sealed class MessagePage
{
    /// <summary>The messages, in seq order. A customer's page leaves out agents' private notes.</summary>
    public IReadOnlyList<ChatMessage> Messages { get; init; } = [];

    /// <summary>The seq to ask after for the next page.</summary>
    public long NextAfterSeq { get; init; }

    /// <summary>True when there may be more messages after <see cref="NextAfterSeq"/>.</summary>
    public bool HasMore { get; init; }
}
