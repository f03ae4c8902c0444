using System.Globalization;
using System.Text;

namespace Chat;

/// <summary>The author of a message.</summary>
/// <param name="Kind">Whether a customer, an agent, the system or a bot wrote it.</param>
/// <param name="Id">The author's id: the contact id for a customer, the user id for an agent, a name for a bot.</param>
public sealed record MessageSender(SenderKind Kind, string Id)
{
    /// <summary>The name shown for the author, when known.</summary>
    public string? DisplayName { get; init; }

    // The name by its length only (see PersonalData).
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(CultureInfo.InvariantCulture, $"Kind = {Kind}, Id = {Id}, ").AppendRedacted(nameof(DisplayName), DisplayName);
        return true;
    }
}
