namespace Chat.Storage;

/// <summary>Durable message storage: the write path every message takes and the history reads.</summary>
/// <remarks>
/// Implementations guarantee: a message is acknowledged (the returned task completes) only once it is durably
/// stored; every stored message has a unique id and a gap-free per-conversation <see cref="ChatMessage.Seq"/>;
/// an append that repeats a stored message's client message id or (channel, platform message id) stores nothing
/// and returns the original.
/// </remarks>
public interface IMessageStore
{
    /// <summary>Stores a message, assigning its id and sequence number.</summary>
    /// <param name="message">The message; <see cref="ChatMessage.Id"/> and <see cref="ChatMessage.Seq"/> are ignored.
    /// It is checked with <see cref="MessageValidation.Validate"/> first.</param>
    /// <param name="cancellationToken">Cancels waiting; a message already handed to the database may still be stored.</param>
    /// <returns>The stored message, and whether it was a retry of one stored before.</returns>
    ValueTask<AppendResult> AppendAsync(ChatMessage message, CancellationToken cancellationToken);

    /// <summary>Reads a page of a conversation's messages after a sequence number, in ascending order.</summary>
    /// <param name="query">The conversation, the sequence number to read after, the page size and the consistency.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The messages, oldest first; fewer than the limit at the end of the history.</returns>
    ValueTask<IReadOnlyList<ChatMessage>> ReadAfterAsync(MessageQuery query, CancellationToken cancellationToken);
}
