namespace Chat.Protocol;

/// <summary>
/// The names of the hubs' methods and of the events they push, shared by the server and every client (the .NET client,
/// the JavaScript widget and agent console).
/// </summary>
public static class ChatHubMethods
{
    /// <summary>Customer: starts or resumes the caller's conversation on the web channel; returns the <see cref="Conversation"/>.</summary>
    public const string StartConversation = nameof(StartConversation);

    /// <summary>Both sides: sends a <see cref="SendRequest"/>; returns a <see cref="SendResult"/> once the message is stored.</summary>
    public const string Send = nameof(Send);

    /// <summary>Both sides: returns the messages of a conversation after a seq, in order (a <see cref="ResumeRequest"/>).</summary>
    public const string Resume = nameof(Resume);

    /// <summary>Both sides: tells the other side the caller is typing in a conversation.</summary>
    public const string Typing = nameof(Typing);

    /// <summary>Both sides: records that the caller has read a conversation up to a seq.</summary>
    public const string MarkRead = nameof(MarkRead);

    /// <summary>Agent: sets the caller's presence and capacity.</summary>
    public const string SetPresence = nameof(SetPresence);

    /// <summary>Agent: returns the tenant's queued conversations.</summary>
    public const string GetQueue = nameof(GetQueue);

    /// <summary>Agent: returns the tenant's conversations by status or assignee.</summary>
    public const string ListConversations = nameof(ListConversations);

    /// <summary>
    /// Agent: returns a page of the tenant's conversations (a <see cref="ConversationListRequest"/>), newest activity
    /// first; the next page starts after the last one listed (<see cref="ConversationCursor.After"/>).
    /// </summary>
    public const string ListConversationsPage = nameof(ListConversationsPage);

    /// <summary>Agent: takes a queued (or any unassigned) conversation.</summary>
    public const string Accept = nameof(Accept);

    /// <summary>Agent: hands a conversation to another agent, or back to the queue.</summary>
    public const string Transfer = nameof(Transfer);

    /// <summary>Agent: marks a conversation resolved.</summary>
    public const string Resolve = nameof(Resolve);

    /// <summary>Agent: reopens a resolved or pending conversation.</summary>
    public const string Reopen = nameof(Reopen);

    /// <summary>Agent: marks a conversation pending (waiting for the customer or a third party).</summary>
    public const string SetPending = nameof(SetPending);

    /// <summary>Agent hub: stops following a conversation's live messages that an earlier <see cref="Resume"/> started (a conversation id).</summary>
    public const string Unfollow = nameof(Unfollow);

    /// <summary>Agent hub: returns the caller as the hub sees it, an <see cref="AgentSelf"/>.</summary>
    public const string WhoAmI = nameof(WhoAmI);

    /// <summary>Event to both sides: a stored <see cref="ChatMessage"/>.</summary>
    public const string MessageReceived = nameof(MessageReceived);

    /// <summary>
    /// Event to agents: several stored messages at once (an array of <see cref="ChatMessage"/>, in the order they were
    /// stored), sent instead of as many <see cref="MessageReceived"/> events when messages arrive faster than an agent
    /// connection is written to. A client handles both.
    /// </summary>
    public const string MessagesReceived = nameof(MessagesReceived);

    /// <summary>Event to both sides: a <see cref="TypingEvent"/>.</summary>
    public const string TypingReceived = nameof(TypingReceived);

    /// <summary>Event to both sides: a <see cref="ReadEvent"/>.</summary>
    public const string ReadReceived = nameof(ReadReceived);

    /// <summary>Event to agents (and the customer of the conversation): a changed <see cref="Conversation"/>.</summary>
    public const string ConversationChanged = nameof(ConversationChanged);

    /// <summary>Event to agents: a <see cref="DeliveryEvent"/> for an outbound message to a platform.</summary>
    public const string DeliveryChanged = nameof(DeliveryChanged);

    /// <summary>
    /// Event to an agent connection: it no longer follows a conversation (its id), because a <see cref="Resume"/> of
    /// another one went past the most a connection follows at once and this was the one resumed longest ago. It still
    /// hears the conversation if it is its agent's own; a <see cref="Resume"/> follows it again.
    /// </summary>
    public const string FollowEnded = nameof(FollowEnded);

    /// <summary>
    /// Event to both sides: pushes may have been lost on their way between the hub's nodes (their link to Redis, which
    /// keeps no message, was down), so the client should catch up what it follows from <see cref="Resume"/> as after a
    /// reconnect, at a random moment within the milliseconds the event carries (an <see cref="int"/>), so that a node's
    /// clients do not all read at once. A second <see cref="int"/> says how many milliseconds before the event pushes
    /// may have been lost from: a client that lists its conversations to catch them up need go no further back.
    /// </summary>
    public const string CatchUp = nameof(CatchUp);
}
