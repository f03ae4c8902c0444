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
}

/// <summary>What an erasure removed.</summary>
/// <param name="Contacts">Contacts (0 or 1).</param>
/// <param name="ChannelIdentities">The contact's identities on channels.</param>
/// <param name="Conversations">The contact's conversations.</param>
/// <param name="Messages">Their messages.</param>
/// <param name="Deliveries">Their outbox entries (deliveries to platforms, pending or done).</param>
public sealed record ContactErasure(int Contacts, int ChannelIdentities, int Conversations, int Messages, int Deliveries);
