using System.Globalization;
using System.Text;

namespace Chat;

/// <summary>
/// How the records that carry personal data print themselves. A record's generated <c>ToString</c> prints every
/// property, and records end up in log lines (a plugin's <c>{Message}</c>, a SignalR client's trace of what it
/// received), exception messages and test output. What customers and agents wrote, their names and their platform
/// user ids are printed by length only; ids, kinds and times as they are.
/// </summary>
internal static class PersonalData
{
    /// <summary>Appends <c>name = (n characters)</c>, or <c>name = null</c>.</summary>
    public static StringBuilder AppendRedacted(this StringBuilder builder, string name, string? value) =>
        value is null
            ? builder.Append(name).Append(" = null")
            : builder.Append(CultureInfo.InvariantCulture, $"{name} = ({value.Length} characters)");

    /// <summary>Appends <c>name = (n entries)</c>: metadata values may hold what a plugin read from the customer's data.</summary>
    public static StringBuilder AppendRedacted(this StringBuilder builder, string name, IReadOnlyDictionary<string, string> values) =>
        builder.Append(CultureInfo.InvariantCulture, $"{name} = ({values.Count} entries)");
}
