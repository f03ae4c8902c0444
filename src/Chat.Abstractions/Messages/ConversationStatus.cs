namespace Chat;

/// <summary>Where a conversation is in its lifecycle.</summary>
public enum ConversationStatus
{
    /// <summary>Waiting for an agent.</summary>
    Queued = 0,

    /// <summary>Assigned to an agent.</summary>
    Open = 1,

    /// <summary>Waiting for the customer or a third party.</summary>
    Pending = 2,

    /// <summary>Done; a new customer message reopens it.</summary>
    Resolved = 3,
}
