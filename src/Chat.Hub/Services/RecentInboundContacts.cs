using Chat.Storage;
using Microsoft.Extensions.Caching.Memory;

namespace Chat.Hub.Services;

/// <summary>
/// The contact and conversation of each platform user who wrote through this node in the last minutes, so that a
/// customer's later pushes cost no statement to find them: at a peak, pushes from the same customers follow each other,
/// and that statement read the very conversation rows the append batches were updating. The conversation is kept as
/// this node last changed it (<see cref="Refresh"/>); one changed on another node may be up to <see cref="Lifetime"/>
/// old when the plugins get it, and what the append sees in its transaction (the conversation's status) is what the hub
/// acts on. An entry whose conversation has been erased meanwhile is found out by the append, forgotten, and resolved
/// again.
/// </summary>
internal sealed class RecentInboundContacts
{
    /// <summary>How long an entry is kept after it was resolved or refreshed.</summary>
    internal static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(2);

    // About 700 bytes a platform user (two entries): at most about 35 MB.
    private const int Capacity = 50_000;

    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = 2 * Capacity });
    private readonly MemoryCacheEntryOptions _entry = new() { Size = 1, AbsoluteExpirationRelativeToNow = Lifetime };

    public ResolvedConversation? Find(string tenantId, ChannelIdentity identity) =>
        _cache.TryGetValue(Key(tenantId, identity), out ResolvedConversation? resolved) ? resolved : null;

    public void Add(string tenantId, ChannelIdentity identity, ResolvedConversation resolved)
    {
        var key = Key(tenantId, identity);
        _cache.Set(key, resolved, _entry);
        _cache.Set((tenantId, resolved.Conversation.Id), key, _entry);
    }

    /// <summary>A conversation changed on this node (accepted, transferred, resolved...): the kept copy, if any, becomes this one.</summary>
    public void Refresh(Conversation conversation)
    {
        if (_cache.TryGetValue((conversation.TenantId, conversation.Id), out (string, string, string) key)
            && _cache.TryGetValue(key, out ResolvedConversation? resolved) && resolved!.Conversation.Id == conversation.Id)
        {
            Add(conversation.TenantId, new ChannelIdentity(key.Item2, key.Item3), resolved with { Conversation = conversation });
        }
    }

    public void Forget(string tenantId, ChannelIdentity identity) => _cache.Remove(Key(tenantId, identity));

    private static (string, string, string) Key(string tenantId, ChannelIdentity identity) => (tenantId, identity.ChannelId, identity.PlatformUserId);
}
