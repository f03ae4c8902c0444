namespace Chat.Storage;

/// <summary>
/// Erases a customer's personal data on their request (the right to erasure): the contact, its channel identities, its
/// conversations with every message, and their pending deliveries, in one transaction. The audit log keeps its entries,
/// which hold ids only.
/// </summary>
public interface IContactEraser
{
    /// <summary>
    /// Erases one contact and everything stored about it. A message being appended to one of its conversations at the
    /// same time is either erased with it or refused (its conversation is gone), never left behind.
    /// </summary>
    /// <param name="tenantId">The tenant.</param>
    /// <param name="contactId">The contact.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>What was erased; all zeros when the tenant has no such contact.</returns>
    /// <exception cref="ArgumentException"><paramref name="tenantId"/> is empty.</exception>
    /// <exception cref="ChatStorageException">The store could not be reached; nothing was erased.</exception>
    ValueTask<ContactErasure> EraseContactAsync(string tenantId, long contactId, CancellationToken cancellationToken);

    /// <summary>
    /// Lists contacts, of every tenant, with no activity since <paramref name="inactiveBefore"/>: created before it, and
    /// none of their conversations changed since (a message, a status change, an assignment). Retention's candidates.
    /// </summary>
    /// <param name="inactiveBefore">The time before which the contacts' last activity lies.</param>
    /// <param name="after">The last contact of the previous page, or null for the first page: pages follow the
    /// contacts' order, so a sweep reads each contact once however many pages it takes.</param>
    /// <param name="limit">The most contacts to list, 1 to 1,000.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The contacts, by tenant and id; fewer than <paramref name="limit"/> when there are no more.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is out of range.</exception>
    /// <exception cref="ChatStorageException">The store could not be reached.</exception>
    ValueTask<IReadOnlyList<ContactKey>> FindInactiveContactsAsync(DateTimeOffset inactiveBefore, ContactKey? after, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Erases a contact as <see cref="EraseContactAsync"/> does, but only when, with its conversations locked, it still
    /// has no activity since <paramref name="inactiveBefore"/>: a customer who wrote in the meantime keeps their data.
    /// </summary>
    /// <param name="tenantId">The tenant.</param>
    /// <param name="contactId">The contact.</param>
    /// <param name="inactiveBefore">The time before which the contact's last activity must lie.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>What was erased; all zeros when the contact is gone or was active since.</returns>
    /// <exception cref="ArgumentException"><paramref name="tenantId"/> is empty.</exception>
    /// <exception cref="ChatStorageException">The store could not be reached; nothing was erased.</exception>
    ValueTask<ContactErasure> EraseInactiveContactAsync(string tenantId, long contactId, DateTimeOffset inactiveBefore, CancellationToken cancellationToken);

    /// <summary>
    /// Erases up to <paramref name="limit"/> messages, of every tenant, stored before <paramref name="createdBefore"/>,
    /// with their outbox entries. Their conversations, contacts and later messages stay, and a conversation's seqs go on
    /// from where they were; a history read simply no longer returns the erased messages. Retention's erasure of old
    /// messages, for a customer who keeps writing.
    /// </summary>
    /// <param name="createdBefore">The time before which the messages were stored.</param>
    /// <param name="limit">The most messages to erase in this call, 1 to 10,000.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>What was erased (messages and deliveries; the other counts are zero); fewer messages than
    /// <paramref name="limit"/> when no more are that old.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is out of range.</exception>
    /// <exception cref="ChatStorageException">The store could not be reached; nothing was erased.</exception>
    ValueTask<ContactErasure> EraseMessagesCreatedBeforeAsync(DateTimeOffset createdBefore, int limit, CancellationToken cancellationToken);
}

/// <summary>A contact of a tenant.</summary>
/// <param name="TenantId">The tenant.</param>
/// <param name="ContactId">The contact id.</param>
public sealed record ContactKey(string TenantId, long ContactId);

/// <summary>What an erasure removed.</summary>
/// <param name="Contacts">Contacts (0 or 1).</param>
/// <param name="ChannelIdentities">The contact's identities on channels.</param>
/// <param name="Conversations">The contact's conversations.</param>
/// <param name="Messages">Their messages.</param>
/// <param name="Deliveries">Their outbox entries (deliveries to platforms, pending or done).</param>
public sealed record ContactErasure(int Contacts, int ChannelIdentities, int Conversations, int Messages, int Deliveries)
{
    /// <summary>Nothing erased.</summary>
    public static ContactErasure None { get; } = new(0, 0, 0, 0, 0);
}
