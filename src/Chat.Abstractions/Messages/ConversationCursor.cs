namespace Chat;

/// <summary>
/// A place in a conversation list, which runs newest activity first: the <see cref="Conversation.UpdatedAt"/> and
/// <see cref="Conversation.Id"/> of a page's last conversation, after which the next page goes on. A conversation that
/// changes while a caller pages moves to the list's head, so a page never repeats one and a caller that needs the
/// changes hears them live or reads the head again.
/// </summary>
public sealed class ConversationCursor
{
    /// <summary>The last listed conversation's <see cref="Conversation.UpdatedAt"/>.</summary>
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>The last listed conversation's <see cref="Conversation.Id"/>, which orders conversations changed at the same moment.</summary>
    public long Id { get; init; }

    /// <summary>The place right after a listed conversation, where the page that follows it starts.</summary>
    /// <param name="conversation">The last conversation of a page.</param>
    /// <returns>The cursor.</returns>
    public static ConversationCursor After(Conversation conversation)
    {
        ArgumentNullException.ThrowIfNull(conversation);
        return new ConversationCursor { UpdatedAt = conversation.UpdatedAt, Id = conversation.Id };
    }
}
