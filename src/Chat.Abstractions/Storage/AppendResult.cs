namespace Chat.Storage;

/// <summary>The outcome of <see cref="IMessageStore.AppendAsync"/>.</summary>
/// <param name="Message">The stored message, with its id and sequence number.</param>
/// <param name="IsDuplicate">True when the append repeated a message stored before, which was returned instead.</param>
public sealed record AppendResult(ChatMessage Message, bool IsDuplicate);
