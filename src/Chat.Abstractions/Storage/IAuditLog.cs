namespace Chat.Storage;

/// <summary>
/// The append-only record of agents' access to customer data: who looked at which conversation's history or which
/// customer's orders, and when. A store keeps entries it has acknowledged for good and refuses to change or delete them.
/// </summary>
public interface IAuditLog
{
    /// <summary>
    /// Records one access. The returned task completes only once the entry is durably stored; a caller that must not
    /// show data without a record of it waits for it first.
    /// </summary>
    /// <param name="entry">The access; <see cref="AuditEntry.Id"/> and <see cref="AuditEntry.At"/> are set by the store.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The stored entry, with its id and time.</returns>
    /// <exception cref="ArgumentException">A field is missing or too long; the message names it.</exception>
    /// <exception cref="ChatStorageException">The store could not be reached; nothing was recorded.</exception>
    ValueTask<AuditEntry> AppendAsync(AuditEntry entry, CancellationToken cancellationToken);

    /// <summary>A tenant's entries after an id, oldest first, optionally of one agent or one conversation.</summary>
    /// <param name="query">What to read.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The entries.</returns>
    /// <exception cref="ArgumentException">The query is out of range; the message names the field.</exception>
    ValueTask<IReadOnlyList<AuditEntry>> ReadAsync(AuditQuery query, CancellationToken cancellationToken);
}

/// <summary>One recorded access to customer data.</summary>
public sealed record AuditEntry
{
    /// <summary>The longest <see cref="Detail"/>: 256 characters.</summary>
    public const int MaxDetailLength = 256;

    /// <summary>The longest <see cref="Action"/> and <see cref="RemoteAddress"/>: 64 characters.</summary>
    public const int MaxShortLength = 64;

    /// <summary>The entry's 64-bit time-ordered id, set by the store.</summary>
    public long Id { get; init; }

    /// <summary>The tenant whose data was accessed.</summary>
    public required string TenantId { get; init; }

    /// <summary>Who accessed it: the agent's id.</summary>
    public required string ActorId { get; init; }

    /// <summary>What was done, one of <see cref="AuditActions"/> (or a host's own name).</summary>
    public required string Action { get; init; }

    /// <summary>The conversation whose data was accessed, if any.</summary>
    public long? ConversationId { get; init; }

    /// <summary>The customer (contact) whose data was accessed, if any.</summary>
    public long? ContactId { get; init; }

    /// <summary>What was asked, e.g. the seq a history read started after or an order number; never the data itself.</summary>
    public string? Detail { get; init; }

    /// <summary>The network address the request came from, if known.</summary>
    public string? RemoteAddress { get; init; }

    /// <summary>When the access was recorded, by the store's clock.</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>Checks an entry a store is asked to append.</summary>
    /// <param name="entry">The entry.</param>
    /// <exception cref="ArgumentNullException"><paramref name="entry"/> is null.</exception>
    /// <exception cref="ArgumentException">A field is missing or too long; the message names it.</exception>
    public static void Validate(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        Require(entry.TenantId, nameof(TenantId), MessageValidation.MaxIdLength, required: true);
        Require(entry.ActorId, nameof(ActorId), MessageValidation.MaxIdLength, required: true);
        Require(entry.Action, nameof(Action), MaxShortLength, required: true);
        Require(entry.Detail, nameof(Detail), MaxDetailLength, required: false);
        Require(entry.RemoteAddress, nameof(RemoteAddress), MaxShortLength, required: false);
        if (entry.ConversationId is <= 0 || entry.ContactId is <= 0)
        {
            throw new ArgumentException("AuditEntry.ConversationId and AuditEntry.ContactId must be stored ids (more than zero) when given.", nameof(entry));
        }
    }

    private static void Require(string? value, string field, int maxLength, bool required)
    {
        if ((required && string.IsNullOrEmpty(value)) || value?.Length > maxLength)
        {
            throw new ArgumentException($"AuditEntry.{field} must be {(required ? "1" : "0")} to {maxLength} characters (was {value?.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null"}).", "entry");
        }
    }
}

/// <summary>The actions the hub records.</summary>
public static class AuditActions
{
    /// <summary>An agent read a conversation's history (the hub's <c>Resume</c>, or the REST history endpoint).</summary>
    public const string ReadHistory = "history.read";

    /// <summary>An agent opened the customer context panel: the context providers (ERP) were asked about the customer or an order.</summary>
    public const string ReadCustomerContext = "customer-context.read";

    /// <summary>
    /// An agent's connection started following a conversation that is not the agent's own (the hub's <c>Resume</c>): it
    /// hears the conversation's new messages live from then on, so this is recorded even when the page read was empty.
    /// </summary>
    public const string FollowConversation = "conversation.follow";

    /// <summary>A customer's data was erased on request (<see cref="IContactEraser"/>), recorded before it was erased.</summary>
    public const string EraseContact = "contact.erase";
}

/// <summary>A page of a tenant's audit log: the entries after an id, oldest first.</summary>
public sealed record AuditQuery
{
    /// <summary>The largest <see cref="Limit"/>: 1,000.</summary>
    public const int MaxLimit = 1000;

    /// <summary>The tenant.</summary>
    public required string TenantId { get; init; }

    /// <summary>Return entries with a greater id; 0 for the oldest.</summary>
    public long AfterId { get; init; }

    /// <summary>Only this agent's entries, if given.</summary>
    public string? ActorId { get; init; }

    /// <summary>Only this conversation's entries, if given.</summary>
    public long? ConversationId { get; init; }

    /// <summary>The most entries to return, 1 to <see cref="MaxLimit"/>. Default 100.</summary>
    public int Limit { get; init; } = 100;

    /// <summary>Checks a query a store is asked to run.</summary>
    /// <param name="query">The query.</param>
    /// <exception cref="ArgumentNullException"><paramref name="query"/> is null.</exception>
    /// <exception cref="ArgumentException">A field is out of range; the message names it.</exception>
    public static void Validate(AuditQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (string.IsNullOrEmpty(query.TenantId) || query.TenantId.Length > MessageValidation.MaxIdLength)
        {
            throw new ArgumentException($"AuditQuery.TenantId must be 1 to {MessageValidation.MaxIdLength} characters.", nameof(query));
        }

        if (query.Limit is < 1 or > MaxLimit)
        {
            throw new ArgumentException($"AuditQuery.Limit is {query.Limit}; it must be 1 to {MaxLimit}.", nameof(query));
        }

        if (query.AfterId < 0)
        {
            throw new ArgumentException($"AuditQuery.AfterId is {query.AfterId}; it must be zero or more.", nameof(query));
        }
    }
}
