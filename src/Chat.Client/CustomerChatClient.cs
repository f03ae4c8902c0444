using Chat.Protocol;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Client;

/// <summary>
/// A customer's connection to the customer hub. <see cref="MessageReceived"/> sees every message of the conversation
/// once, in order, across reconnects; <see cref="SendAsync(SendRequest, CancellationToken)"/> retries through lost
/// connections with the same client message id, so a message is stored exactly once.
/// </summary>
public sealed class CustomerChatClient : IAsyncDisposable
{
    private readonly HubSession _session;

    /// <summary>Creates a client; call <see cref="StartAsync"/> to connect.</summary>
    /// <param name="options">The hub URL and the visitor token.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    public CustomerChatClient(ChatClientOptions options)
    {
        _session = new HubSession(options, statefulReconnectByDefault: false, message => MessageReceived?.Invoke(message) ?? Task.CompletedTask);
        _session.Connection.On<TypingEvent>(ChatHubMethods.TypingReceived, e => TypingReceived?.Invoke(e));
        _session.Connection.On<ReadEvent>(ChatHubMethods.ReadReceived, e => ReadReceived?.Invoke(e));
        _session.Connection.On<Conversation>(ChatHubMethods.ConversationChanged, c => ConversationChanged?.Invoke(c));
    }

    /// <summary>A message of the conversation (the customer's own included), once each, in seq order.</summary>
    public event Func<ChatMessage, Task>? MessageReceived;

    /// <summary>An agent is typing.</summary>
    public event Action<TypingEvent>? TypingReceived;

    /// <summary>An agent has read up to a seq.</summary>
    public event Action<ReadEvent>? ReadReceived;

    /// <summary>The conversation changed (assigned, resolved).</summary>
    public event Action<Conversation>? ConversationChanged;

    /// <summary>The underlying SignalR connection (its state and events).</summary>
    public HubConnection Connection => _session.Connection;

    /// <summary>The conversation, once <see cref="StartConversationAsync"/> returned.</summary>
    public Conversation? Conversation { get; private set; }

    /// <summary>The highest seq delivered to <see cref="MessageReceived"/>.</summary>
    public long LastSeq => Conversation is null ? 0 : _session.LastSeq(Conversation.Id);

    /// <summary>Connects.</summary>
    /// <param name="cancellationToken">Cancels the connect.</param>
    /// <returns>A task that completes when connected.</returns>
    public Task StartAsync(CancellationToken cancellationToken = default) => _session.StartAsync(cancellationToken);

    /// <summary>Starts (or finds) the customer's conversation and delivers its messages after <paramref name="afterSeq"/>.</summary>
    /// <param name="afterSeq">The last seq the caller already has (zero: the whole history).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The conversation.</returns>
    public async Task<Conversation> StartConversationAsync(long afterSeq = 0, CancellationToken cancellationToken = default)
    {
        Conversation = await _session.Connection.InvokeAsync<Conversation>(ChatHubMethods.StartConversation, cancellationToken).ConfigureAwait(false);
        await _session.TrackAsync(Conversation.Id, afterSeq).ConfigureAwait(false);
        return Conversation;
    }

    /// <summary>Sends a message; completes once it is stored. Retries through lost connections with the same client message id.</summary>
    /// <param name="request">The message; its conversation and client message id must be set.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The stored message's id and seq.</returns>
    /// <exception cref="Microsoft.AspNetCore.SignalR.HubException">The hub refused the message (the reason is in the message).</exception>
    public Task<SendResult> SendAsync(SendRequest request, CancellationToken cancellationToken = default) =>
        _session.SendAsync(request, cancellationToken);

    /// <summary>Sends a text message to the started conversation with a new client message id.</summary>
    /// <param name="text">The text.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The stored message's id and seq.</returns>
    /// <exception cref="InvalidOperationException">No conversation was started.</exception>
    public Task<SendResult> SendTextAsync(string text, CancellationToken cancellationToken = default) =>
        SendAsync(new SendRequest
        {
            ConversationId = (Conversation ?? throw new InvalidOperationException("Call StartConversationAsync first.")).Id,
            ClientMessageId = Guid.NewGuid().ToString("N"),
            Kind = MessageKind.Text,
            Content = text,
        }, cancellationToken);

    /// <summary>Reads the conversation's messages after a seq (private notes are never included).</summary>
    /// <param name="request">The conversation, seq and page size.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The page.</returns>
    public Task<MessagePage> ResumeAsync(ResumeRequest request, CancellationToken cancellationToken = default) =>
        _session.Connection.InvokeAsync<MessagePage>(ChatHubMethods.Resume, request, cancellationToken);

    /// <summary>Tells the agents the customer is typing.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    public Task TypingAsync(CancellationToken cancellationToken = default) =>
        _session.Connection.InvokeAsync(ChatHubMethods.Typing, RequireConversation().Id, cancellationToken);

    /// <summary>Tells the agents the customer has read up to a seq.</summary>
    /// <param name="seq">The last seq read.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    public Task MarkReadAsync(long seq, CancellationToken cancellationToken = default) =>
        _session.Connection.InvokeAsync(ChatHubMethods.MarkRead, RequireConversation().Id, seq, cancellationToken);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _session.DisposeAsync();

    private Conversation RequireConversation() => Conversation ?? throw new InvalidOperationException("Call StartConversationAsync first.");
}
