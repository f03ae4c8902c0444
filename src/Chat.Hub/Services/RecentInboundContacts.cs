using Chat.Storage;
using Microsoft.Extensions.Caching.Memory;

namespace Chat.Hub.Services;

/// <summary>
/// The contact and conversation of each platform user who wrote through this node in the last minutes, so that a
/// customer's later pushes cost no statement to find them: at a peak, pushes from the same customers follow each other,
/// and that statement read the very conversation rows the append batches were updating. The conversation is kept as
/// this node last changed it (<see cref="Refresh"/>), and a contact erased on this node is forgotten at once
/// (<see cref="ForgetContact"/>). With several nodes, <see cref="RecentInboundContactsReplica"/> makes the others forget
/// what changed or was erased on one; while Redis does not carry that, a conversation changed on another node may be up
/// to <see cref="Lifetime"/> old when the plugins get it, and a contact erased on another node is found out by the
/// append, forgotten, and resolved again. What the append sees in its transaction (the conversation's status) is what
/// the hub acts on.
/// </summary>
internal sealed class RecentInboundContacts
{
    /// <summary>How long an entry is kept after it was resolved or refreshed.</summary>
    internal static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(2);

    // About 800 bytes a platform user (three entries): at most about 40 MB.
    private const int Capacity = 50_000;

    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = 3 * Capacity });
    private readonly MemoryCacheEntryOptions _entry = new() { Size = 1, AbsoluteExpirationRelativeToNow = Lifetime };

    public ResolvedConversation? Find(string tenantId, ChannelIdentity identity) =>
        _cache.TryGetValue(Key(tenantId, identity), out ResolvedConversation? resolved) ? resolved : null;

    public void Add(string tenantId, ChannelIdentity identity, ResolvedConversation resolved)
    {
        var key = Key(tenantId, identity);
        _cache.Set(key, resolved, _entry);
        _cache.Set(new ConversationKey(tenantId, resolved.Conversation.Id), key, _entry);
        _cache.Set(new ContactKey(tenantId, resolved.Contact.Id), key, _entry);
    }

    /// <summary>A conversation changed on this node (accepted, transferred, resolved...): the kept copy, if any, becomes this one.</summary>
    public void Refresh(Conversation conversation)
    {
        if (_cache.TryGetValue(new ConversationKey(conversation.TenantId, conversation.Id), out (string, string, string) key)
            && _cache.TryGetValue(key, out ResolvedConversation? resolved) && resolved!.Conversation.Id == conversation.Id)
        {
            Add(conversation.TenantId, new ChannelIdentity(key.Item2, key.Item3), resolved with { Conversation = conversation });
        }
    }

    /// <summary>A contact was erased (on this node, or on another one): its next push resolves the customer afresh, as a new contact.</summary>
    public void ForgetContact(string tenantId, long contactId)
    {
        if (_cache.TryGetValue(new ContactKey(tenantId, contactId), out (string, string, string) key))
        {
            _cache.Remove(key);
        }
    }

    /// <summary>A conversation changed on another node: its platform user's next push here reads it again.</summary>
    public void ForgetConversation(string tenantId, long conversationId)
    {
        if (_cache.TryGetValue(new ConversationKey(tenantId, conversationId), out (string, string, string) key)
            && _cache.TryGetValue(key, out ResolvedConversation? resolved) && resolved!.Conversation.Id == conversationId)
        {
            _cache.Remove(key);
        }
    }

    public void Forget(string tenantId, ChannelIdentity identity) => _cache.Remove(Key(tenantId, identity));

    private static (string, string, string) Key(string tenantId, ChannelIdentity identity) => (tenantId, identity.ChannelId, identity.PlatformUserId);

    private readonly record struct ConversationKey(string TenantId, long ConversationId);
}
