namespace Chat.Storage.Internal;

/// <summary>
/// What the stores' <see cref="IContactEraser"/>s share (compiled into each storage package): the checks of the
/// arguments, and erasure on request as retention's erasure without its condition.
/// </summary>
internal abstract class ContactEraserBase : IContactEraser
{
    public ValueTask<ContactErasure> EraseContactAsync(string tenantId, long contactId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenantId);
        return EraseAsync(tenantId, contactId, inactiveBefore: null, cancellationToken);
    }

    public ValueTask<ContactErasure> EraseInactiveContactAsync(string tenantId, long contactId, DateTimeOffset inactiveBefore, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenantId);
        return EraseAsync(tenantId, contactId, inactiveBefore, cancellationToken);
    }

    public ValueTask<IReadOnlyList<ContactKey>> FindInactiveContactsAsync(DateTimeOffset inactiveBefore, ContactKey? after, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, 1000);
        return FindInactiveAsync(inactiveBefore, after ?? new ContactKey(string.Empty, long.MinValue), limit, cancellationToken);
    }

    public ValueTask<ContactErasure> EraseMessagesCreatedBeforeAsync(DateTimeOffset createdBefore, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, 10_000);
        return EraseMessagesAsync(createdBefore, limit, cancellationToken);
    }

    /// <summary>Erases up to <paramref name="limit"/> messages stored before <paramref name="createdBefore"/> and their outbox entries, in one transaction.</summary>
    protected abstract ValueTask<ContactErasure> EraseMessagesAsync(DateTimeOffset createdBefore, int limit, CancellationToken cancellationToken);

    /// <summary>Erases the contact and all of its data in one transaction; with <paramref name="inactiveBefore"/>, only
    /// when, its conversations locked, it has had no activity since.</summary>
    protected abstract ValueTask<ContactErasure> EraseAsync(string tenantId, long contactId, DateTimeOffset? inactiveBefore, CancellationToken cancellationToken);

    /// <summary>Lists up to <paramref name="limit"/> contacts after <paramref name="after"/> (by tenant, then id) with no
    /// activity since <paramref name="inactiveBefore"/>.</summary>
    protected abstract ValueTask<IReadOnlyList<ContactKey>> FindInactiveAsync(DateTimeOffset inactiveBefore, ContactKey after, int limit, CancellationToken cancellationToken);
}
