using Chat.Storage;
using Microsoft.Extensions.Caching.Memory;

namespace Chat.Hub.Services;

/// <summary>
/// The contact and conversation of each platform user who wrote through this node in the last minutes, so that a
/// customer's later pushes cost no statement to find them: at a peak, pushes from the same customers follow each other,
/// and that statement read the very conversation rows the append batches were updating. A conversation passed to the
/// plugins may so be minutes old, as a hub customer's is (its connection keeps the one it started); what the append
/// sees in its transaction (the conversation's status) is what the hub acts on. An entry whose conversation has been
/// erased meanwhile is found out by the append, forgotten, and resolved again.
/// </summary>
internal sealed class RecentInboundContacts
{
    /// <summary>How long an entry is kept after it was resolved.</summary>
    internal static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(2);

    // About 600 bytes an entry: at most about 30 MB.
    private const int Capacity = 50_000;

    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = Capacity });

    public ResolvedConversation? Find(string tenantId, ChannelIdentity identity) =>
        _cache.TryGetValue(Key(tenantId, identity), out ResolvedConversation? resolved) ? resolved : null;

    public void Add(string tenantId, ChannelIdentity identity, ResolvedConversation resolved) =>
        _cache.Set(Key(tenantId, identity), resolved, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = Lifetime });

    public void Forget(string tenantId, ChannelIdentity identity) => _cache.Remove(Key(tenantId, identity));

    private static (string, string, string) Key(string tenantId, ChannelIdentity identity) => (tenantId, identity.ChannelId, identity.PlatformUserId);
}
