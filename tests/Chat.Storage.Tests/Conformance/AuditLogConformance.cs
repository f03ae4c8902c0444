namespace Chat.Storage.Tests.Conformance;

/// <summary>The audit log of agents' access to customer data: stored, read back in order, and never changed.</summary>
public abstract partial class StoreConformanceTests
{
    /// <summary>The audit table's name in the store's own SQL.</summary>
    internal abstract string AuditTable { get; }

    /// <summary>Runs a statement on the store's database directly, as a bug or an injected statement in the application would.</summary>
    internal abstract Task RunSqlAsync(string sql);

    private static AuditEntry Access(string actor, long? conversationId, string action = AuditActions.ReadHistory, string tenant = Tenant) => new()
    {
        TenantId = tenant,
        ActorId = actor,
        Action = action,
        ConversationId = conversationId,
        ContactId = conversationId is null ? null : 77,
        Detail = "after=0",
        RemoteAddress = "192.0.2.10",
    };

    private Task<IReadOnlyList<AuditEntry>> ReadAuditAsync(AuditQuery query) => Store.Audit.ReadAsync(query, CancellationToken.None).AsTask();

    [Fact]
    public async Task Audit_entries_are_stored_with_time_ordered_ids_and_read_back_in_order_by_tenant_agent_and_conversation()
    {
        var before = DateTimeOffset.UtcNow.AddSeconds(-5);
        var stored = new List<AuditEntry>();
        foreach (var (actor, conversation) in new[] { ("alice", (long?)1001), ("bob", 1001), ("alice", 1002), ("alice", null), ("bob", 1002) })
        {
            stored.Add(await Store.Audit.AppendAsync(Access(actor, conversation), CancellationToken.None));
        }

        await Store.Audit.AppendAsync(Access("mallory", 1001, tenant: "shop-2"), CancellationToken.None);

        Assert.All(stored, e => Assert.True(e.Id > 0));
        Assert.Equal(stored.Select(e => e.Id).Order(), stored.Select(e => e.Id));
        Assert.All(stored, e => Assert.InRange(e.At, before, DateTimeOffset.UtcNow.AddSeconds(5)));

        var all = await ReadAuditAsync(new AuditQuery { TenantId = Tenant });
        Assert.Equal(stored.Select(e => e.Id), all.Select(e => e.Id));
        var first = all[0];
        Assert.Equal((Tenant, "alice", AuditActions.ReadHistory, (long?)1001, (long?)77, "after=0", "192.0.2.10"),
            (first.TenantId, first.ActorId, first.Action, first.ConversationId, first.ContactId, first.Detail, first.RemoteAddress));
        Assert.Equal(stored[0].At.ToUnixTimeMilliseconds(), first.At.ToUnixTimeMilliseconds());
        Assert.Null(all[3].ConversationId);
        Assert.Null(all[3].ContactId);

        Assert.Equal(["alice", "alice", "alice"], (await ReadAuditAsync(new AuditQuery { TenantId = Tenant, ActorId = "alice" })).Select(e => e.ActorId));
        Assert.Equal([stored[0].Id, stored[1].Id], (await ReadAuditAsync(new AuditQuery { TenantId = Tenant, ConversationId = 1001 })).Select(e => e.Id));
        Assert.Equal([stored[4].Id], (await ReadAuditAsync(new AuditQuery { TenantId = Tenant, ActorId = "bob", ConversationId = 1002 })).Select(e => e.Id));

        // Paging: after an id, at most Limit entries.
        var page = await ReadAuditAsync(new AuditQuery { TenantId = Tenant, AfterId = stored[1].Id, Limit = 2 });
        Assert.Equal([stored[2].Id, stored[3].Id], page.Select(e => e.Id));

        // Another tenant's entries are its own.
        Assert.Equal(["mallory"], (await ReadAuditAsync(new AuditQuery { TenantId = "shop-2" })).Select(e => e.ActorId));
        Assert.Empty(await ReadAuditAsync(new AuditQuery { TenantId = "shop-3" }));
    }

    [Fact]
    public async Task The_audit_log_refuses_to_change_or_delete_its_entries()
    {
        var entry = await Store.Audit.AppendAsync(Access("alice", 1001), CancellationToken.None);

        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => RunSqlAsync($"UPDATE {AuditTable} SET actor_id = 'nobody'"));
        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => RunSqlAsync($"DELETE FROM {AuditTable} WHERE id = {entry.Id}"));
        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => RunSqlAsync($"DELETE FROM {AuditTable}"));
        if (AuditTable.Contains('.', StringComparison.Ordinal))
        {
            await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => RunSqlAsync($"TRUNCATE {AuditTable}"));
        }

        var kept = Assert.Single(await ReadAuditAsync(new AuditQuery { TenantId = Tenant }));
        Assert.Equal((entry.Id, "alice"), (kept.Id, kept.ActorId));

        // Appending still works after the refusals.
        await Store.Audit.AppendAsync(Access("bob", 1001), CancellationToken.None);
        Assert.Equal(2, (await ReadAuditAsync(new AuditQuery { TenantId = Tenant })).Count);
    }

    [Fact]
    public async Task Audit_entries_and_queries_out_of_range_are_refused_naming_the_field_and_nothing_is_stored()
    {
        async Task Refused(AuditEntry entry, string field)
        {
            var ex = await Assert.ThrowsAsync<ArgumentException>(() => Store.Audit.AppendAsync(entry, CancellationToken.None).AsTask());
            Assert.Contains(field, ex.Message, StringComparison.Ordinal);
        }

        await Refused(Access("", 1001), "ActorId");
        await Refused(Access("alice", 1001) with { Action = "" }, "Action");
        await Refused(Access("alice", 1001, tenant: ""), "TenantId");
        await Refused(Access("alice", 1001) with { Detail = new string('d', AuditEntry.MaxDetailLength + 1) }, "Detail");
        await Refused(Access("alice", 1001) with { RemoteAddress = new string('1', AuditEntry.MaxShortLength + 1) }, "RemoteAddress");
        await Refused(Access("alice", 0), "ConversationId");
        await Assert.ThrowsAsync<ArgumentNullException>(() => Store.Audit.AppendAsync(null!, CancellationToken.None).AsTask());

        var limit = await Assert.ThrowsAsync<ArgumentException>(() => ReadAuditAsync(new AuditQuery { TenantId = Tenant, Limit = 0 }));
        Assert.Contains("Limit", limit.Message, StringComparison.Ordinal);
        var after = await Assert.ThrowsAsync<ArgumentException>(() => ReadAuditAsync(new AuditQuery { TenantId = Tenant, AfterId = -1 }));
        Assert.Contains("AfterId", after.Message, StringComparison.Ordinal);

        Assert.Empty(await ReadAuditAsync(new AuditQuery { TenantId = Tenant }));
    }
}
