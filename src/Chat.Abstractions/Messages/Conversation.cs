namespace Chat;

/// <summary>A conversation between one contact and the shop on one channel.</summary>
public sealed record Conversation
{
    /// <summary>The conversation id.</summary>
    public long Id { get; init; }

    /// <summary>The tenant (shop) the conversation belongs to.</summary>
    public required string TenantId { get; init; }

    /// <summary>The channel the conversation runs on.</summary>
    public required string ChannelId { get; init; }

    /// <summary>The customer's contact id.</summary>
    public long ContactId { get; init; }

    /// <summary>The lifecycle status.</summary>
    public ConversationStatus Status { get; init; }

    /// <summary>The team the conversation is with, if any: only its members are given it from the queue.</summary>
    public string? TeamId { get; init; }

    /// <summary>The agent the conversation is assigned to, if any.</summary>
    public string? AssigneeId { get; init; }

    /// <summary>The sequence number of the newest stored message; zero when there is none.</summary>
    public long LastSeq { get; init; }

    /// <summary>When the conversation was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the conversation last changed.</summary>
    public DateTimeOffset UpdatedAt { get; init; }
}
