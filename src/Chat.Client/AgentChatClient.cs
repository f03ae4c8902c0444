using Chat.Protocol;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Client;

/// <summary>
/// An agent's connection to the agent hub: presence, the queue, the conversation lifecycle and replies.
/// <see cref="MessageReceived"/> sees the tenant's messages once each, in seq order per conversation, across reconnects.
/// </summary>
public sealed class AgentChatClient : IAsyncDisposable
{
    private readonly HubSession _session;

    /// <summary>Creates a client; call <see cref="StartAsync"/> to connect.</summary>
    /// <param name="options">The hub URL and the agent's bearer token.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    public AgentChatClient(ChatClientOptions options)
    {
        _session = new HubSession(options, statefulReconnectByDefault: true, message => MessageReceived?.Invoke(message) ?? Task.CompletedTask);
        _session.Connection.On<TypingEvent>(ChatHubMethods.TypingReceived, e => TypingReceived?.Invoke(e));
        _session.Connection.On<ReadEvent>(ChatHubMethods.ReadReceived, e => ReadReceived?.Invoke(e));
        _session.Connection.On<Conversation>(ChatHubMethods.ConversationChanged, c => ConversationChanged?.Invoke(c));
        _session.Connection.On<DeliveryEvent>(ChatHubMethods.DeliveryChanged, e => DeliveryChanged?.Invoke(e));
    }

    /// <summary>A message of the tenant's conversations (notes included), once each, in seq order per conversation.</summary>
    public event Func<ChatMessage, Task>? MessageReceived;

    /// <summary>A customer or another agent is typing.</summary>
    public event Action<TypingEvent>? TypingReceived;

    /// <summary>A customer or another agent has read up to a seq.</summary>
    public event Action<ReadEvent>? ReadReceived;

    /// <summary>A conversation changed (queued, assigned, transferred, resolved).</summary>
    public event Action<Conversation>? ConversationChanged;

    /// <summary>A reply's delivery to its platform changed state (sent, retrying, failed with a reason).</summary>
    public event Action<DeliveryEvent>? DeliveryChanged;

    /// <summary>The underlying SignalR connection (its state and events).</summary>
    public HubConnection Connection => _session.Connection;

    /// <summary>Connects.</summary>
    /// <param name="cancellationToken">Cancels the connect.</param>
    /// <returns>A task that completes when connected.</returns>
    public Task StartAsync(CancellationToken cancellationToken = default) => _session.StartAsync(cancellationToken);

    /// <summary>Follows a conversation from a seq: its messages after it are delivered now, and after every reconnect.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="afterSeq">The last seq the caller already has.</param>
    /// <returns>A task that completes when the history so far is delivered.</returns>
    public Task WatchAsync(long conversationId, long afterSeq = 0) => _session.TrackAsync(conversationId, afterSeq);

    /// <summary>The highest seq of a conversation delivered to <see cref="MessageReceived"/>.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <returns>The seq, or zero.</returns>
    public long LastSeq(long conversationId) => _session.LastSeq(conversationId);

    /// <summary>Sets presence and capacity; coming online takes queued conversations.</summary>
    /// <param name="presence">Online, away or offline.</param>
    /// <param name="capacity">How many open conversations at once.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    public Task SetPresenceAsync(AgentPresence presence, int capacity, CancellationToken cancellationToken = default) =>
        _session.Connection.InvokeAsync(ChatHubMethods.SetPresence, presence, capacity, cancellationToken);

    /// <summary>The tenant's queued conversations, oldest first.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The conversations.</returns>
    public Task<IReadOnlyList<Conversation>> GetQueueAsync(CancellationToken cancellationToken = default) =>
        _session.Connection.InvokeAsync<IReadOnlyList<Conversation>>(ChatHubMethods.GetQueue, cancellationToken);

    /// <summary>The tenant's conversations, newest activity first.</summary>
    /// <param name="status">Only this status, if given.</param>
    /// <param name="mine">Only the caller's.</param>
    /// <param name="limit">At most this many, 1 to 1,000.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The conversations.</returns>
    public Task<IReadOnlyList<Conversation>> ListConversationsAsync(ConversationStatus? status, bool mine, int limit = 50, CancellationToken cancellationToken = default) =>
        _session.Connection.InvokeAsync<IReadOnlyList<Conversation>>(ChatHubMethods.ListConversations, status, mine, limit, cancellationToken);

    /// <summary>Takes a conversation.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The conversation, open and assigned to the caller.</returns>
    public Task<Conversation> AcceptAsync(long conversationId, CancellationToken cancellationToken = default) =>
        _session.Connection.InvokeAsync<Conversation>(ChatHubMethods.Accept, conversationId, cancellationToken);

    /// <summary>Hands a conversation to another agent, or back to the queue (of a team, if given).</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="toAgentId">The agent, or null for the queue.</param>
    /// <param name="toTeamId">The team whose members may take it, or null.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The conversation.</returns>
    public Task<Conversation> TransferAsync(long conversationId, string? toAgentId, string? toTeamId = null, CancellationToken cancellationToken = default) =>
        _session.Connection.InvokeAsync<Conversation>(ChatHubMethods.Transfer, conversationId, toAgentId, toTeamId, cancellationToken);

    /// <summary>Resolves a conversation.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The conversation.</returns>
    public Task<Conversation> ResolveAsync(long conversationId, CancellationToken cancellationToken = default) =>
        _session.Connection.InvokeAsync<Conversation>(ChatHubMethods.Resolve, conversationId, cancellationToken);

    /// <summary>Reopens a conversation.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The conversation.</returns>
    public Task<Conversation> ReopenAsync(long conversationId, CancellationToken cancellationToken = default) =>
        _session.Connection.InvokeAsync<Conversation>(ChatHubMethods.Reopen, conversationId, cancellationToken);

    /// <summary>Marks a conversation pending.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The conversation.</returns>
    public Task<Conversation> SetPendingAsync(long conversationId, CancellationToken cancellationToken = default) =>
        _session.Connection.InvokeAsync<Conversation>(ChatHubMethods.SetPending, conversationId, cancellationToken);

    /// <summary>Sends a reply or a private note; completes once it is stored. Retries through lost connections with the same client message id.</summary>
    /// <param name="request">The message.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The stored message's id and seq.</returns>
    /// <exception cref="Microsoft.AspNetCore.SignalR.HubException">The hub refused the message (the reason is in the message).</exception>
    public Task<SendResult> SendAsync(SendRequest request, CancellationToken cancellationToken = default) =>
        _session.SendAsync(request, cancellationToken);

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

    /// <summary>Reads a conversation's history after a seq, notes included.</summary>
    /// <param name="request">The conversation, seq and page size.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The page.</returns>
    public Task<MessagePage> ResumeAsync(ResumeRequest request, CancellationToken cancellationToken = default) =>
        _session.Connection.InvokeAsync<MessagePage>(ChatHubMethods.Resume, request, cancellationToken);

    /// <summary>Tells the customer and other agents the caller is typing.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    public Task TypingAsync(long conversationId, CancellationToken cancellationToken = default) =>
        _session.Connection.InvokeAsync(ChatHubMethods.Typing, conversationId, cancellationToken);

    /// <summary>Tells the customer and other agents the caller has read up to a seq.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="seq">The last seq read.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    public Task MarkReadAsync(long conversationId, long seq, CancellationToken cancellationToken = default) =>
        _session.Connection.InvokeAsync(ChatHubMethods.MarkRead, conversationId, seq, cancellationToken);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _session.DisposeAsync();
}
