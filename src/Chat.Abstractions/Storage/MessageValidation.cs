namespace Chat.Storage;

/// <summary>The limits every store applies to a message before it accepts it, with errors naming the field.</summary>
public static class MessageValidation
{
    /// <summary>The longest <see cref="ChatMessage.Content"/>, in characters: 65,536.</summary>
    public const int MaxContentLength = 64 * 1024;

    /// <summary>The longest id-like field (tenant, channel, sender, client and platform message ids): 128 characters.</summary>
    public const int MaxIdLength = 128;

    /// <summary>The most <see cref="ChatMessage.Metadata"/> entries: 64.</summary>
    public const int MaxMetadataEntries = 64;

    /// <summary>Checks a message a store is asked to append.</summary>
    /// <param name="message">The message.</param>
    /// <exception cref="ArgumentNullException"><paramref name="message"/> is null.</exception>
    /// <exception cref="ArgumentException">A field is missing, too long or out of range; the message names it.</exception>
    public static void Validate(ChatMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        RequireId(message.TenantId, nameof(ChatMessage.TenantId));
        RequireId(message.ChannelId, nameof(ChatMessage.ChannelId));
        RequireId(message.Sender?.Id, "Sender.Id");
        if (message.ConversationId <= 0)
        {
            throw new ArgumentException($"ChatMessage.ConversationId must be a stored conversation's id, not {message.ConversationId}.", nameof(message));
        }

        if (!Enum.IsDefined(message.Direction) || !Enum.IsDefined(message.Kind) || !Enum.IsDefined(message.Sender!.Kind))
        {
            throw new ArgumentException("ChatMessage.Direction, Kind and Sender.Kind must be defined values.", nameof(message));
        }

        if (message.Content is null || message.Content.Length > MaxContentLength)
        {
            throw new ArgumentException($"ChatMessage.Content must be at most {MaxContentLength} characters (was {message.Content?.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null"}).", nameof(message));
        }

        OptionalId(message.ClientMessageId, nameof(ChatMessage.ClientMessageId));
        OptionalId(message.PlatformMessageId, nameof(ChatMessage.PlatformMessageId));
        OptionalId(message.Sender.DisplayName, "Sender.DisplayName");
        if (message.Metadata is null || message.Metadata.Count > MaxMetadataEntries)
        {
            throw new ArgumentException($"ChatMessage.Metadata must have at most {MaxMetadataEntries} entries.", nameof(message));
        }
    }

    private static void RequireId(string? value, string field)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new ArgumentException($"ChatMessage.{field} is required.", "message");
        }

        OptionalId(value, field);
    }

    private static void OptionalId(string? value, string field)
    {
        if (value is not null && (value.Length == 0 || value.Length > MaxIdLength))
        {
            throw new ArgumentException($"ChatMessage.{field} must be 1 to {MaxIdLength} characters.", "message");
        }
    }
}
