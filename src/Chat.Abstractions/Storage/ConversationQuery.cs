namespace Chat.Storage;

/// <summary>A filter and page for <see cref="IConversationStore.ListConversationsAsync"/>.</summary>
public sealed record ConversationQuery
{
    /// <summary>The tenant.</summary>
    public required string TenantId { get; init; }

    /// <summary>Only conversations in this status, if set.</summary>
    public ConversationStatus? Status { get; init; }

    /// <summary>Only conversations with this team, if set.</summary>
    public string? TeamId { get; init; }

    /// <summary>Only conversations assigned to this agent, if set.</summary>
    public string? AssigneeId { get; init; }

    /// <summary>The most conversations to return, 1 to 1,000. Default 50.</summary>
    public int Limit { get; init; } = 50;

    /// <summary>
    /// Where the page starts: after this place in the list's order (an older <see cref="Conversation.UpdatedAt"/>, or
    /// the same and a smaller id), the previous page's last conversation's (<see cref="ConversationCursor.After"/>).
    /// Null (the default) for the first page.
    /// </summary>
    public ConversationCursor? After { get; init; }

    /// <summary>Whether the read must see every acknowledged write. Default <see cref="ReadConsistency.Strong"/>.</summary>
    public ReadConsistency Consistency { get; init; }
}
