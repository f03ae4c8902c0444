namespace Chat.Storage;

/// <summary>The outcome of <see cref="IMessageStore.AppendAsync"/>.</summary>
/// <param name="Message">The stored message, with its id and sequence number.</param>
/// <param name="IsDuplicate">True when the append repeated a message stored before, which was returned instead.</param>
public sealed record AppendResult(ChatMessage Message, bool IsDuplicate)
{
    /// <summary>
    /// The conversation's status as the append found it (read in the same transaction, at no extra cost), so the
    /// caller can reopen a resolved conversation without reading it again; null when the store cannot tell.
    /// </summary>
    public ConversationStatus? ConversationStatus { get; init; }

    /// <summary>
    /// The conversation's assignee as the append found it (read with <see cref="ConversationStatus"/>, in the same
    /// transaction), so the caller pushes the message to the agent who has the conversation now; null when the
    /// conversation has none, or when <see cref="ConversationStatus"/> is null (the store cannot tell).
    /// </summary>
    public string? ConversationAssigneeId { get; init; }
}
