using Chat.Protocol;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Client;

/// <summary>
/// A customer's connection to the customer hub. <see cref="ChatHubClient.MessageReceived"/> sees every message of the conversation
/// once, in order, across reconnects; <see cref="ChatHubClient.SendAsync(SendRequest, CancellationToken)"/> retries through lost
/// connections with the same client message id, so a message is stored exactly once.
/// </summary>
public sealed class CustomerChatClient : ChatHubClient
{
    /// <summary>Creates a client; call <see cref="ChatHubClient.StartAsync"/> to connect.</summary>
    /// <param name="options">The hub URL and the visitor token.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    public CustomerChatClient(ChatClientOptions options)
        : base(options, isAgent: false)
    {
    }

    /// <summary>The conversation, once <see cref="StartConversationAsync"/> returned.</summary>
    public Conversation? Conversation { get; private set; }

    /// <summary>The highest seq delivered to <see cref="ChatHubClient.MessageReceived"/>.</summary>
    public long LastSeq => Conversation is null ? 0 : Session.LastSeq(Conversation.Id);

    /// <summary>Starts (or finds) the customer's conversation and delivers its messages after <paramref name="afterSeq"/>.</summary>
    /// <param name="afterSeq">The last seq the caller already has (zero: the whole history).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The conversation.</returns>
    public async Task<Conversation> StartConversationAsync(long afterSeq = 0, CancellationToken cancellationToken = default)
    {
        Conversation = await Session.Connection.InvokeAsync<Conversation>(ChatHubMethods.StartConversation, cancellationToken).ConfigureAwait(false);
        await Session.TrackAsync(Conversation.Id, afterSeq).ConfigureAwait(false);
        return Conversation;
    }

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

    /// <summary>Tells the agents the customer is typing.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    public Task TypingAsync(CancellationToken cancellationToken = default) =>
        Session.Connection.InvokeAsync(ChatHubMethods.Typing, RequireConversation().Id, cancellationToken);

    /// <summary>Tells the agents the customer has read up to a seq.</summary>
    /// <param name="seq">The last seq read.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    public Task MarkReadAsync(long seq, CancellationToken cancellationToken = default) =>
        Session.Connection.InvokeAsync(ChatHubMethods.MarkRead, RequireConversation().Id, seq, cancellationToken);

    private Conversation RequireConversation() => Conversation ?? throw new InvalidOperationException("Call StartConversationAsync first.");
}
