using Chat.Protocol;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Client;

/// <summary>
/// What the customer and agent clients share: one hub connection with the delivery guarantee (every message once, in
/// seq order per conversation, across reconnects), sends that retry through lost connections with the same client
/// message id, and the events both hubs push.
/// </summary>
public abstract class ChatHubClient : IAsyncDisposable
{
    private protected ChatHubClient(ChatClientOptions options, bool isAgent)
    {
        Session = new HubSession(options, isAgent, message => MessageReceived?.Invoke(message) ?? Task.CompletedTask,
            () => CaughtUp?.Invoke() ?? Task.CompletedTask);
        Session.Connection.On<TypingEvent>(ChatHubMethods.TypingReceived, e => TypingReceived?.Invoke(e));
        Session.Connection.On<ReadEvent>(ChatHubMethods.ReadReceived, e => ReadReceived?.Invoke(e));
        Session.Connection.On<Conversation>(ChatHubMethods.ConversationChanged, c => ConversationChanged?.Invoke(c));
    }

    /// <summary>A message (the caller's own included), once each, in seq order per conversation.</summary>
    public event Func<ChatMessage, Task>? MessageReceived;

    /// <summary>
    /// The client has caught up, after a reconnect or when the hub asked it to (its nodes lost pushes between them), the
    /// messages of the conversations it follows: those <see cref="MessageReceived"/> missed came through it first. Other
    /// pushes of that time (conversation changes, typing, receipts) are not repeated: read again here what the
    /// application shows of them, such as the queue and the conversation lists.
    /// </summary>
    public event Func<Task>? CaughtUp;

    /// <summary>The other side is typing.</summary>
    public event Action<TypingEvent>? TypingReceived;

    /// <summary>The other side has read up to a seq.</summary>
    public event Action<ReadEvent>? ReadReceived;

    /// <summary>A conversation changed (queued, assigned, transferred, resolved).</summary>
    public event Action<Conversation>? ConversationChanged;

    /// <summary>The underlying SignalR connection (its state and events).</summary>
    public HubConnection Connection => Session.Connection;

    private protected HubSession Session { get; }

    /// <summary>Connects.</summary>
    /// <param name="cancellationToken">Cancels the connect.</param>
    /// <returns>A task that completes when connected.</returns>
    public Task StartAsync(CancellationToken cancellationToken = default) => Session.StartAsync(cancellationToken);

    /// <summary>
    /// Sends a message; completes once it is stored. Retries through lost connections with the same client message id,
    /// and after a pause when the hub refused it for the connection's call rate, until <see cref="ChatClientOptions.SendTimeout"/>.
    /// </summary>
    /// <param name="request">The message; its conversation and client message id must be set.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The stored message's id and seq.</returns>
    /// <exception cref="Microsoft.AspNetCore.SignalR.HubException">The hub refused the message (the reason is in the message), or still refused it for the call rate at the deadline.</exception>
    public Task<SendResult> SendAsync(SendRequest request, CancellationToken cancellationToken = default) => Session.SendAsync(request, cancellationToken);

    /// <summary>Reads a conversation's messages after a seq (a customer's pages leave out private notes).</summary>
    /// <param name="request">The conversation, seq and page size.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The page.</returns>
    public Task<MessagePage> ResumeAsync(ResumeRequest request, CancellationToken cancellationToken = default) =>
        Session.Connection.InvokeAsync<MessagePage>(ChatHubMethods.Resume, request, cancellationToken);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Session.DisposeAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }
}
