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

    /// <summary>
    /// Finds the stored message a platform gave an id, so a platform's retry of a push is answered without running the
    /// plugins again. Reads what was acknowledged before the call (the primary, never a standby).
    /// </summary>
    /// <param name="tenantId">The tenant.</param>
    /// <param name="channelId">The channel the platform pushes to.</param>
    /// <param name="platformMessageId">The platform's id of the message.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The stored message, or null when none has that id.</returns>
    /// <exception cref="ArgumentException">An argument is null or empty.</exception>
    ValueTask<ChatMessage?> FindByPlatformMessageIdAsync(string tenantId, string channelId, string platformMessageId, CancellationToken cancellationToken);

    /// <summary>
    /// Customers' messages, of every tenant, stored within a window, each still the last change to its conversation
    /// (its seq the conversation's last, the conversation's time the message's own) while that conversation is not open:
    /// nothing reopened, assigned, answered or resolved it after the message. A node that stops between a message's
    /// commit and its conversation's reopening leaves such a message behind, and the customer would wait for an answer
    /// nobody is asked to give; the nodes that outlive it look for them (<see cref="IWorkerIdLeaseStore.ListLapsedAsync"/>).
    /// Reads the primary. The default finds none: a store that cannot tell leaves them to the customers' next messages.
    /// </summary>
    /// <param name="from">The earliest <see cref="ChatMessage.CreatedAt"/> to look at.</param>
    /// <param name="to">The latest <see cref="ChatMessage.CreatedAt"/> to look at.</param>
    /// <param name="afterId">Finds messages with a greater id only (0 for the first page).</param>
    /// <param name="limit">The most messages to return, 1 to 1,000.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The messages in ascending id order; fewer than <paramref name="limit"/> at the end.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is out of range, or <paramref name="to"/> is before <paramref name="from"/>.</exception>
    ValueTask<IReadOnlyList<ChatMessage>> ListUnattendedAsync(DateTimeOffset from, DateTimeOffset to, long afterId, int limit, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<ChatMessage>>([]);
}
