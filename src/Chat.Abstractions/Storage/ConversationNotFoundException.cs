namespace Chat.Storage;

/// <summary>
/// An append named a conversation the store does not hold (never created, or erased with its contact by
/// <see cref="IContactEraser"/>). Nothing was stored, and retrying will not help.
/// </summary>
public sealed class ConversationNotFoundException : ChatStorageException
{
    /// <summary>Creates the exception.</summary>
    public ConversationNotFoundException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What happened.</param>
    public ConversationNotFoundException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause.</param>
    public ConversationNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a conversation of a tenant.</summary>
    /// <param name="tenantId">The tenant.</param>
    /// <param name="conversationId">The conversation.</param>
    public ConversationNotFoundException(string tenantId, long conversationId)
        : base($"Conversation {conversationId} of tenant '{tenantId}' does not exist; the message was not stored.")
    {
        TenantId = tenantId;
        ConversationId = conversationId;
    }

    /// <summary>The tenant, when known.</summary>
    public string? TenantId { get; }

    /// <summary>The conversation, when known.</summary>
    public long ConversationId { get; }
}
