namespace Chat.Storage;

/// <summary>A page of a conversation's history: the messages after a sequence number, oldest first.</summary>
public sealed record MessageQuery
{
    /// <summary>The largest <see cref="Limit"/>: 1,000.</summary>
    public const int MaxLimit = 1000;

    /// <summary>The tenant.</summary>
    public required string TenantId { get; init; }

    /// <summary>The conversation.</summary>
    public long ConversationId { get; init; }

    /// <summary>Return messages with a greater sequence number; 0 for the whole history.</summary>
    public long AfterSeq { get; init; }

    /// <summary>The most messages to return, 1 to <see cref="MaxLimit"/>. Default 100.</summary>
    public int Limit { get; init; } = 100;

    /// <summary>Whether the read must see every acknowledged write. Default <see cref="ReadConsistency.Strong"/>.</summary>
    public ReadConsistency Consistency { get; init; }
}
