using System.Globalization;
using System.Text;

namespace Chat;

/// <summary>One message of a conversation, as it flows through the pipeline and as it is stored.</summary>
/// <remarks>
/// <see cref="Id"/> and <see cref="Seq"/> are zero until the store accepts the message; the store assigns a
/// unique 64-bit time-ordered id and the next gap-free sequence number of the conversation.
/// </remarks>
public sealed record ChatMessage
{
    private static readonly IReadOnlyDictionary<string, string> EmptyMetadata =
        new Dictionary<string, string>(0, StringComparer.Ordinal);

    /// <summary>The unique, time-ordered message id; zero before the message is stored.</summary>
    public long Id { get; init; }

    /// <summary>The tenant (shop) the message belongs to.</summary>
    public required string TenantId { get; init; }

    /// <summary>The conversation the message belongs to.</summary>
    public long ConversationId { get; init; }

    /// <summary>The channel the conversation runs on (a plugin's channel id, or <c>web</c> for the widget).</summary>
    public required string ChannelId { get; init; }

    /// <summary>Which way the message travels.</summary>
    public MessageDirection Direction { get; init; }

    /// <summary>Who wrote the message.</summary>
    public required MessageSender Sender { get; init; }

    /// <summary>What <see cref="Content"/> holds.</summary>
    public MessageKind Kind { get; init; }

    /// <summary>The text, or the URL, media id or JSON that <see cref="Kind"/> calls for.</summary>
    public string Content { get; init; } = string.Empty;

    /// <summary>The gap-free position of the message in its conversation, from 1; zero before the message is stored.</summary>
    public long Seq { get; init; }

    /// <summary>The id the sending client gave the message; a retry with the same id is stored once.</summary>
    public string? ClientMessageId { get; init; }

    /// <summary>The platform's id of the message; a platform retry with the same id is stored once.</summary>
    public string? PlatformMessageId { get; init; }

    /// <summary>When the framework accepted the message.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the platform says the message was sent, if it says.</summary>
    public DateTimeOffset? PlatformTimestamp { get; init; }

    /// <summary>Free-form string metadata (platform fields a sender needs later, plugin annotations).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = EmptyMetadata;

    // Prints ids, kinds and sizes, not what was written (see PersonalData).
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(CultureInfo.InvariantCulture, $"Id = {Id}, TenantId = {TenantId}, ConversationId = {ConversationId}, Seq = {Seq}, ChannelId = {ChannelId}, Direction = {Direction}, Sender = {Sender}, Kind = {Kind}, ")
            .AppendRedacted(nameof(Content), Content)
            .Append(CultureInfo.InvariantCulture, $", ClientMessageId = {ClientMessageId}, PlatformMessageId = {PlatformMessageId}, CreatedAt = {CreatedAt:O}, PlatformTimestamp = {PlatformTimestamp:O}, ")
            .AppendRedacted(nameof(Metadata), Metadata);
        return true;
    }
}
