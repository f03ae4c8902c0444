using System.Globalization;
using System.Text;

namespace Chat;

/// <summary>A customer of a tenant, known through one or more channel identities.</summary>
public sealed record Contact
{
    /// <summary>The contact id.</summary>
    public long Id { get; init; }

    /// <summary>The tenant (shop) the contact belongs to.</summary>
    public required string TenantId { get; init; }

    /// <summary>The name shown to agents, when known.</summary>
    public string? DisplayName { get; init; }

    /// <summary>When the contact was first seen.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    // The name by its length only (see PersonalData).
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(CultureInfo.InvariantCulture, $"Id = {Id}, TenantId = {TenantId}, ").AppendRedacted(nameof(DisplayName), DisplayName)
            .Append(CultureInfo.InvariantCulture, $", CreatedAt = {CreatedAt:O}");
        return true;
    }
}
