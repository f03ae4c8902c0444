namespace Chat.Storage;

/// <summary>Contacts, their channel identities and their conversations.</summary>
public interface IConversationStore
{
    /// <summary>Finds the contact a channel identity belongs to, creating both when the identity is new.</summary>
    /// <param name="tenantId">The tenant.</param>
    /// <param name="identity">The channel and the platform's user id.</param>
    /// <param name="displayName">The name to give a new contact, if known.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The contact.</returns>
    ValueTask<Contact> ResolveContactAsync(string tenantId, ChannelIdentity identity, string? displayName, CancellationToken cancellationToken);

    /// <summary>Finds the contact a channel identity belongs to, without creating anything.</summary>
    /// <param name="tenantId">The tenant.</param>
    /// <param name="identity">The channel and the platform's user id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The contact, or null when the identity is unknown.</returns>
    ValueTask<Contact?> FindContactAsync(string tenantId, ChannelIdentity identity, CancellationToken cancellationToken);

    /// <summary>Returns the contact's current conversation on a channel, opening a queued one when there is none.</summary>
    /// <param name="tenantId">The tenant.</param>
    /// <param name="contactId">The contact.</param>
    /// <param name="channelId">The channel.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The conversation.</returns>
    ValueTask<Conversation> GetOrCreateConversationAsync(string tenantId, long contactId, string channelId, CancellationToken cancellationToken);

    /// <summary>
    /// Finds a platform user's contact and their conversation on the identity's channel, creating what is missing: what
    /// <see cref="ResolveContactAsync"/> and then <see cref="GetOrCreateConversationAsync"/> do. A store answers the usual
    /// case of a platform's push, a customer who wrote before, in one round trip; this default makes the two calls.
    /// </summary>
    /// <param name="tenantId">The tenant.</param>
    /// <param name="identity">The channel and the platform's user id.</param>
    /// <param name="displayName">The name to give a new contact, if known.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The contact and the conversation.</returns>
    async ValueTask<ResolvedConversation> ResolveConversationAsync(string tenantId, ChannelIdentity identity, string? displayName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var contact = await ResolveContactAsync(tenantId, identity, displayName, cancellationToken).ConfigureAwait(false);
        return new ResolvedConversation(contact, await GetOrCreateConversationAsync(tenantId, contact.Id, identity.ChannelId, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Returns a conversation, or null when the tenant has none with that id.</summary>
    /// <param name="tenantId">The tenant.</param>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The conversation, or null.</returns>
    ValueTask<Conversation?> GetConversationAsync(string tenantId, long conversationId, CancellationToken cancellationToken);

    /// <summary>Lists a tenant's conversations, newest activity first.</summary>
    /// <param name="query">The filter and page.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The conversations.</returns>
    ValueTask<IReadOnlyList<Conversation>> ListConversationsAsync(ConversationQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// Counts the open conversations of each of some agents, for auto-assignment (one call per try, whatever the number
    /// of agents). The default lists each agent's open conversations with <see cref="ListConversationsAsync"/> (so it
    /// counts at most 1,000 each); the framework's stores count them all in one statement.
    /// </summary>
    /// <param name="tenantId">The tenant.</param>
    /// <param name="assigneeIds">The agents.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Each agent's number of open conversations; an agent with none may be missing.</returns>
    /// <exception cref="ArgumentException"><paramref name="tenantId"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="assigneeIds"/> is null.</exception>
    async ValueTask<IReadOnlyDictionary<string, int>> CountOpenConversationsAsync(string tenantId, IReadOnlyCollection<string> assigneeIds, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenantId);
        ArgumentNullException.ThrowIfNull(assigneeIds);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var assigneeId in assigneeIds)
        {
            var open = await ListConversationsAsync(new ConversationQuery { TenantId = tenantId, Status = ConversationStatus.Open, AssigneeId = assigneeId, Limit = 1000 }, cancellationToken).ConfigureAwait(false);
            counts[assigneeId] = open.Count;
        }

        return counts;
    }

    /// <summary>Sets a conversation's status, team and assignee.</summary>
    /// <param name="tenantId">The tenant.</param>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="status">The new status.</param>
    /// <param name="assigneeId">The new assignee, or null for none.</param>
    /// <param name="teamId">The new team, or null for none.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The changed conversation.</returns>
    ValueTask<Conversation> UpdateConversationAsync(string tenantId, long conversationId, ConversationStatus status, string? assigneeId, string? teamId, CancellationToken cancellationToken);

    /// <summary>
    /// Sets a conversation's status, team and assignee only if it still has the status and assignee the caller read,
    /// in one atomic step: of two agents or nodes that take the same queued conversation at once, one wins.
    /// </summary>
    /// <param name="tenantId">The tenant.</param>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="expectedStatus">The status the caller read.</param>
    /// <param name="expectedAssigneeId">The assignee the caller read, or null for none.</param>
    /// <param name="status">The new status.</param>
    /// <param name="assigneeId">The new assignee, or null for none.</param>
    /// <param name="teamId">The new team, or null for none.</param>
    /// <param name="assigneeCapacity">
    /// When given, the change also needs the new assignee to hold fewer other open conversations of the tenant than
    /// this, checked so that two changes giving that assignee a conversation at once (from any node) cannot both pass
    /// on the same count.
    /// </param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The changed conversation, or null when its status or assignee is no longer the expected one, the new
    /// assignee is at capacity, or it does not exist.</returns>
    ValueTask<Conversation?> UpdateConversationIfAsync(string tenantId, long conversationId, ConversationStatus expectedStatus, string? expectedAssigneeId,
        ConversationStatus status, string? assigneeId, string? teamId, int? assigneeCapacity, CancellationToken cancellationToken);
}

/// <summary>A platform user's contact and their conversation on a channel.</summary>
/// <param name="Contact">The contact.</param>
/// <param name="Conversation">The contact's conversation on the channel.</param>
public sealed record ResolvedConversation(Contact Contact, Conversation Conversation);
