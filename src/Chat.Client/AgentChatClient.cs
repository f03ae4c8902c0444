using Chat.Protocol;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Client;

/// <summary>
/// An agent's connection to the agent hub: presence, the queue, the conversation lifecycle and replies.
/// <see cref="ChatHubClient.MessageReceived"/> sees the messages of the conversations the hub pushes to the agent (those assigned to it
/// and those it watches, or every conversation of the tenant where the hub is set so) once each, in seq order per conversation, across
/// reconnects: a conversation given to the agent mid-way comes whole, its earlier messages first (see
/// <see cref="ChatClientOptions.CatchUpNewConversations"/>).
/// </summary>
public sealed class AgentChatClient : ChatHubClient
{
    /// <summary>Creates a client; call <see cref="ChatHubClient.StartAsync"/> to connect.</summary>
    /// <param name="options">The hub URL and the agent's bearer token.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    public AgentChatClient(ChatClientOptions options)
        : base(options, isAgent: true)
    {
        Session.Connection.On<DeliveryEvent>(ChatHubMethods.DeliveryChanged, e => DeliveryChanged?.Invoke(e));
        Session.Connection.On<long>(ChatHubMethods.FollowEnded, conversationId =>
        {
            Session.Untrack(conversationId);
            WatchEnded?.Invoke(conversationId);
        });
    }

    /// <summary>A reply's delivery to its platform changed state (sent, retrying, failed with a reason).</summary>
    public event Action<DeliveryEvent>? DeliveryChanged;

    /// <summary>
    /// The agent as the hub sees it (its id as conversations' assignee, its teams, whether its connection hears every
    /// conversation of the tenant), once <see cref="ChatHubClient.StartAsync"/> returned; refreshed on every reconnect.
    /// </summary>
    public AgentSelf? Self => Session.Self;

    /// <summary>
    /// The hub stopped pushing a watched conversation (its id) to this connection: the connection watched the most it
    /// may at once (1,000) and <see cref="WatchAsync"/> (or a catch-up) of another one made room by ending the one
    /// watched longest ago. The client treats it as after <see cref="UnwatchAsync"/>: it still delivers the
    /// conversation if it is the agent's own, and <see cref="WatchAsync"/> follows it again.
    /// </summary>
    public event Action<long>? WatchEnded;

    /// <summary>
    /// Follows a conversation from a seq: its messages after it are delivered now, and after every reconnect. The hub
    /// then pushes the conversation's live messages to this connection too, as to the agent it is assigned to, until
    /// <see cref="UnwatchAsync"/> (see <c>ChatHubOptions.AgentsHearEveryMessage</c>).
    /// </summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="afterSeq">The last seq the caller already has.</param>
    /// <returns>A task that completes when the history so far is delivered.</returns>
    public Task WatchAsync(long conversationId, long afterSeq = 0) => Session.TrackAsync(conversationId, afterSeq);

    /// <summary>Stops following a conversation that <see cref="WatchAsync"/> (or a message of it) started: the hub no longer
    /// pushes its messages to this connection unless it is assigned to the agent, and a reconnect does not catch it up.
    /// Should the agent be given it later, delivery goes on after the last message delivered before, with nothing twice.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    public async Task UnwatchAsync(long conversationId, CancellationToken cancellationToken = default)
    {
        Session.Untrack(conversationId);
        await Session.Connection.InvokeAsync(ChatHubMethods.Unfollow, conversationId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The highest seq of a conversation delivered to <see cref="ChatHubClient.MessageReceived"/>.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <returns>The seq, or zero.</returns>
    public long LastSeq(long conversationId) => Session.LastSeq(conversationId);

    /// <summary>Sets presence and capacity; coming online takes queued conversations.</summary>
    /// <param name="presence">Online, away or offline.</param>
    /// <param name="capacity">How many open conversations at once.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    public Task SetPresenceAsync(AgentPresence presence, int capacity, CancellationToken cancellationToken = default) =>
        Session.Connection.InvokeAsync(ChatHubMethods.SetPresence, presence, capacity, cancellationToken);

    /// <summary>The tenant's queued conversations, oldest first.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The conversations.</returns>
    public Task<IReadOnlyList<Conversation>> GetQueueAsync(CancellationToken cancellationToken = default) =>
        Session.Connection.InvokeAsync<IReadOnlyList<Conversation>>(ChatHubMethods.GetQueue, cancellationToken);

    /// <summary>The tenant's conversations, newest activity first.</summary>
    /// <param name="status">Only this status, if given.</param>
    /// <param name="mine">Only the caller's.</param>
    /// <param name="limit">At most this many, 1 to 1,000.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The conversations.</returns>
    public Task<IReadOnlyList<Conversation>> ListConversationsAsync(ConversationStatus? status, bool mine, int limit = 50, CancellationToken cancellationToken = default) =>
        Session.Connection.InvokeAsync<IReadOnlyList<Conversation>>(ChatHubMethods.ListConversations, status, mine, limit, cancellationToken);

    /// <summary>
    /// A page of the tenant's conversations, newest activity first: the next page starts after the last one listed
    /// (<see cref="ConversationCursor.After"/>); a page shorter than the limit is the last.
    /// </summary>
    /// <param name="request">The filter, the page size and where the page starts.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The conversations.</returns>
    public Task<IReadOnlyList<Conversation>> ListConversationsPageAsync(ConversationListRequest request, CancellationToken cancellationToken = default) =>
        Session.Connection.InvokeAsync<IReadOnlyList<Conversation>>(ChatHubMethods.ListConversationsPage, request, cancellationToken);

    /// <summary>Takes a conversation.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The conversation, open and assigned to the caller.</returns>
    public Task<Conversation> AcceptAsync(long conversationId, CancellationToken cancellationToken = default) =>
        Session.Connection.InvokeAsync<Conversation>(ChatHubMethods.Accept, conversationId, cancellationToken);

    /// <summary>Hands a conversation to another agent, or back to the queue (of a team, if given).</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="toAgentId">The agent, or null for the queue.</param>
    /// <param name="toTeamId">The team whose members may take it, or null.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The conversation.</returns>
    public Task<Conversation> TransferAsync(long conversationId, string? toAgentId, string? toTeamId = null, CancellationToken cancellationToken = default) =>
        Session.Connection.InvokeAsync<Conversation>(ChatHubMethods.Transfer, conversationId, toAgentId, toTeamId, cancellationToken);

    /// <summary>Resolves a conversation.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The conversation.</returns>
    public Task<Conversation> ResolveAsync(long conversationId, CancellationToken cancellationToken = default) =>
        Session.Connection.InvokeAsync<Conversation>(ChatHubMethods.Resolve, conversationId, cancellationToken);

    /// <summary>Reopens a conversation.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The conversation.</returns>
    public Task<Conversation> ReopenAsync(long conversationId, CancellationToken cancellationToken = default) =>
        Session.Connection.InvokeAsync<Conversation>(ChatHubMethods.Reopen, conversationId, cancellationToken);

    /// <summary>Marks a conversation pending.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The conversation.</returns>
    public Task<Conversation> SetPendingAsync(long conversationId, CancellationToken cancellationToken = default) =>
        Session.Connection.InvokeAsync<Conversation>(ChatHubMethods.SetPending, conversationId, cancellationToken);

    /// <summary>Sends a text reply with a new client message id.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="text">The text.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The stored message's id and seq.</returns>
    public Task<SendResult> ReplyAsync(long conversationId, string text, CancellationToken cancellationToken = default) =>
        SendAsync(new SendRequest { ConversationId = conversationId, ClientMessageId = Guid.NewGuid().ToString("N"), Kind = MessageKind.Text, Content = text }, cancellationToken);

    /// <summary>Writes a private note, which the customer never receives.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="text">The text.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The stored note's id and seq.</returns>
    public Task<SendResult> NoteAsync(long conversationId, string text, CancellationToken cancellationToken = default) =>
        SendAsync(new SendRequest { ConversationId = conversationId, ClientMessageId = Guid.NewGuid().ToString("N"), Kind = MessageKind.Text, Content = text, IsPrivate = true }, cancellationToken);

    /// <summary>Tells the customer and other agents the caller is typing.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    public Task TypingAsync(long conversationId, CancellationToken cancellationToken = default) =>
        Session.Connection.InvokeAsync(ChatHubMethods.Typing, conversationId, cancellationToken);

    /// <summary>Tells the customer and other agents the caller has read up to a seq.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="seq">The last seq read.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    public Task MarkReadAsync(long conversationId, long seq, CancellationToken cancellationToken = default) =>
        Session.Connection.InvokeAsync(ChatHubMethods.MarkRead, conversationId, seq, cancellationToken);

}
