using System.Globalization;
using System.Text;

namespace Chat.Plugins;

/// <summary>A customer's message as a channel plugin normalised it from a platform push.</summary>
/// <remarks>
/// The runtime dedupes by (channel, <see cref="PlatformMessageId"/>), resolves the contact from
/// (channel, <see cref="PlatformUserId"/>) and the conversation, runs the pipeline and stores the message.
/// </remarks>
public sealed record InboundMessage
{
    private static readonly IReadOnlyDictionary<string, string> EmptyMetadata =
        new Dictionary<string, string>(0, StringComparer.Ordinal);

    /// <summary>The tenant the push belongs to, when the plugin can tell; otherwise the host's default tenant.</summary>
    public string? TenantId { get; init; }

    /// <summary>The platform's id of the customer (an openid, for example).</summary>
    public required string PlatformUserId { get; init; }

    /// <summary>The platform's id of the message, used to store a platform's retry once.</summary>
    public required string PlatformMessageId { get; init; }

    /// <summary>What <see cref="Content"/> holds.</summary>
    public MessageKind Kind { get; init; }

    /// <summary>The text, or the URL, media id or JSON that <see cref="Kind"/> calls for.</summary>
    public string Content { get; init; } = string.Empty;

    /// <summary>The customer's name, when the platform gives it.</summary>
    public string? DisplayName { get; init; }

    /// <summary>When the platform says the message was sent.</summary>
    public DateTimeOffset? PlatformTimestamp { get; init; }

    /// <summary>Platform fields to keep with the message (ids a later reply must quote, for example).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = EmptyMetadata;

    // Prints ids, kinds and sizes, not what was written or who wrote it (see PersonalData).
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(CultureInfo.InvariantCulture, $"TenantId = {TenantId}, ")
            .AppendRedacted(nameof(PlatformUserId), PlatformUserId)
            .Append(CultureInfo.InvariantCulture, $", PlatformMessageId = {PlatformMessageId}, Kind = {Kind}, ")
            .AppendRedacted(nameof(Content), Content).Append(", ")
            .AppendRedacted(nameof(DisplayName), DisplayName)
            .Append(CultureInfo.InvariantCulture, $", PlatformTimestamp = {PlatformTimestamp:O}, ")
            .AppendRedacted(nameof(Metadata), Metadata);
        return true;
    }
}
