using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Chat.Storage.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Chat.Storage.Tests.Conformance;

/// <summary>
/// What every store must do, run against each store (PostgreSQL and SQLite) through its public contracts:
/// ordering, paging, idempotent retries, concurrency, contacts, conversations and worker leases.
/// </summary>
public abstract partial class StoreConformanceTests : IAsyncLifetime
{
    private const string Tenant = "shop-1";

    private StoreHost _store = null!;

    internal StoreHost Store => _store;

    public async Task InitializeAsync() => _store = await StartStoreAsync();

    public async Task DisposeAsync() => await _store.DisposeAsync();

    /// <summary>Starts a host with the store under test on a fresh, empty database.</summary>
    internal abstract Task<StoreHost> StartStoreAsync();

    /// <summary>The store's <c>db.system.name</c>: postgresql or sqlite.</summary>
    internal abstract string DbSystem { get; }

    internal async Task<Conversation> NewConversationAsync(string user = "openid-1", string channel = "wechat")
    {
        var contact = await _store.Conversations.ResolveContactAsync(Tenant, new ChannelIdentity(channel, user), "Ann", CancellationToken.None);
        return await _store.Conversations.GetOrCreateConversationAsync(Tenant, contact.Id, channel, CancellationToken.None);
    }

    internal static ChatMessage Message(Conversation conversation, string content, string? clientId = null, string? platformId = null) => new()
    {
        TenantId = conversation.TenantId,
        ConversationId = conversation.Id,
        ChannelId = conversation.ChannelId,
        Direction = MessageDirection.Inbound,
        Sender = new MessageSender(SenderKind.Customer, conversation.ContactId.ToString(System.Globalization.CultureInfo.InvariantCulture)) { DisplayName = "Ann" },
        Kind = MessageKind.Text,
        Content = content,
        ClientMessageId = clientId,
        PlatformMessageId = platformId,
        PlatformTimestamp = new DateTimeOffset(2026, 11, 11, 0, 0, 1, TimeSpan.Zero),
        Metadata = new Dictionary<string, string> { ["source"] = "test" },
    };

    private Task<IReadOnlyList<ChatMessage>> ReadAsync(Conversation conversation, long afterSeq = 0, int limit = 100) =>
        _store.Messages.ReadAfterAsync(new MessageQuery { TenantId = Tenant, ConversationId = conversation.Id, AfterSeq = afterSeq, Limit = limit }, CancellationToken.None).AsTask();

    [Fact]
    public async Task Appends_get_unique_ids_and_gap_free_seqs_from_1_and_read_back_in_order()
    {
        var conversation = await NewConversationAsync();

        var stored = new List<ChatMessage>();
        for (var i = 1; i <= 5; i++)
        {
            var result = await _store.Messages.AppendAsync(Message(conversation, $"message {i}", clientId: $"c{i}"), CancellationToken.None);
            Assert.False(result.IsDuplicate);
            stored.Add(result.Message);
        }

        Assert.Equal([1L, 2, 3, 4, 5], stored.Select(m => m.Seq));
        Assert.Equal(5, stored.Select(m => m.Id).Distinct().Count());
        Assert.All(stored, m => Assert.True(m.Id > 0));
        Assert.True(stored.Select(m => m.Id).SequenceEqual(stored.Select(m => m.Id).Order()), "ids are time-ordered");

        var read = await ReadAsync(conversation);
        Assert.Equal(stored.Select(m => (m.Id, m.Seq, m.Content)), read.Select(m => (m.Id, m.Seq, m.Content)));
        var first = read[0];
        Assert.Equal((MessageDirection.Inbound, SenderKind.Customer, "Ann", MessageKind.Text, "c1"), (first.Direction, first.Sender.Kind, first.Sender.DisplayName, first.Kind, first.ClientMessageId));
        Assert.Equal("test", first.Metadata["source"]);
        Assert.Equal(new DateTimeOffset(2026, 11, 11, 0, 0, 1, TimeSpan.Zero), first.PlatformTimestamp);
        Assert.Equal(stored[0].CreatedAt.ToUnixTimeMilliseconds(), first.CreatedAt.ToUnixTimeMilliseconds());
        Assert.Equal(5, (await _store.Conversations.GetConversationAsync(Tenant, conversation.Id, CancellationToken.None))!.LastSeq);
        var health = await _store.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        Assert.Equal(HealthStatus.Healthy, health.Entries["chat-storage"].Status);
    }

    [Fact]
    public async Task History_pages_after_a_seq()
    {
        var conversation = await NewConversationAsync();
        for (var i = 1; i <= 25; i++)
        {
            await _store.Messages.AppendAsync(Message(conversation, $"m{i}"), CancellationToken.None);
        }

        var page1 = await ReadAsync(conversation, afterSeq: 0, limit: 10);
        var page2 = await ReadAsync(conversation, afterSeq: page1[^1].Seq, limit: 10);
        var page3 = await ReadAsync(conversation, afterSeq: page2[^1].Seq, limit: 10);
        var beyond = await ReadAsync(conversation, afterSeq: 25);

        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), page1.Select(m => m.Seq));
        Assert.Equal(Enumerable.Range(11, 10).Select(i => (long)i), page2.Select(m => m.Seq));
        Assert.Equal(Enumerable.Range(21, 5).Select(i => (long)i), page3.Select(m => m.Seq));
        Assert.Empty(beyond);
    }

    [Fact]
    public async Task A_retry_with_the_same_client_message_id_returns_the_original_and_stores_nothing()
    {
        var conversation = await NewConversationAsync();
        var original = await _store.Messages.AppendAsync(Message(conversation, "hello", clientId: "client-42"), CancellationToken.None);
        await _store.Messages.AppendAsync(Message(conversation, "other"), CancellationToken.None);

        var retry = await _store.Messages.AppendAsync(Message(conversation, "hello", clientId: "client-42"), CancellationToken.None);

        Assert.True(retry.IsDuplicate);
        Assert.Equal((original.Message.Id, original.Message.Seq), (retry.Message.Id, retry.Message.Seq));
        Assert.Equal(2, (await ReadAsync(conversation)).Count);
    }

    [Fact]
    public async Task A_platform_retry_with_the_same_platform_message_id_is_stored_once()
    {
        var conversation = await NewConversationAsync();
        var original = await _store.Messages.AppendAsync(Message(conversation, "from wechat", platformId: "wx-msg-1"), CancellationToken.None);

        var retries = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ =>
            _store.Messages.AppendAsync(Message(conversation, "from wechat", platformId: "wx-msg-1"), CancellationToken.None).AsTask()));

        Assert.All(retries, r => Assert.Equal((true, original.Message.Id, 1L), (r.IsDuplicate, r.Message.Id, r.Message.Seq)));
        Assert.Single(await ReadAsync(conversation));
    }

    [Fact]
    public async Task A_stored_platform_message_is_found_by_its_channel_and_platform_id_and_nothing_else()
    {
        var conversation = await NewConversationAsync();
        var original = await _store.Messages.AppendAsync(Message(conversation, "from wechat", platformId: "wx-msg-7"), CancellationToken.None);

        var found = await _store.Messages.FindByPlatformMessageIdAsync(Tenant, "wechat", "wx-msg-7", CancellationToken.None);
        Assert.NotNull(found);
        Assert.Equal((original.Message.Id, original.Message.Seq, conversation.Id, "from wechat", "wx-msg-7", "Ann"),
            (found.Id, found.Seq, found.ConversationId, found.Content, found.PlatformMessageId, found.Sender.DisplayName));

        // Another id, another channel, another tenant: none.
        Assert.Null(await _store.Messages.FindByPlatformMessageIdAsync(Tenant, "wechat", "wx-msg-8", CancellationToken.None));
        Assert.Null(await _store.Messages.FindByPlatformMessageIdAsync(Tenant, "douyin", "wx-msg-7", CancellationToken.None));
        Assert.Null(await _store.Messages.FindByPlatformMessageIdAsync("other-tenant", "wechat", "wx-msg-7", CancellationToken.None));
        foreach (var (tenant, channel, id, name) in new[] { ("", "wechat", "x", "tenantId"), (Tenant, " ", "x", "channelId"), (Tenant, "wechat", "", "platformMessageId") })
        {
            Assert.Equal(name, (await Assert.ThrowsAnyAsync<ArgumentException>(() => _store.Messages.FindByPlatformMessageIdAsync(tenant, channel, id, CancellationToken.None).AsTask())).ParamName);
        }
    }

    [Fact]
    public async Task Open_conversations_are_counted_per_agent_in_one_call()
    {
        // alice has two open and one resolved, bob one open and one pending, carol none; dave's open one is another tenant's.
        async Task<Conversation> WithAsync(string user, ConversationStatus status, string? assignee, string tenant = Tenant)
        {
            var contact = await _store.Conversations.ResolveContactAsync(tenant, new ChannelIdentity("wechat", user), null, CancellationToken.None);
            var conversation = await _store.Conversations.GetOrCreateConversationAsync(tenant, contact.Id, "wechat", CancellationToken.None);
            return await _store.Conversations.UpdateConversationAsync(tenant, conversation.Id, status, assignee, null, CancellationToken.None);
        }

        await WithAsync("u1", ConversationStatus.Open, "alice");
        await WithAsync("u2", ConversationStatus.Open, "alice");
        await WithAsync("u3", ConversationStatus.Resolved, "alice");
        await WithAsync("u4", ConversationStatus.Open, "bob");
        await WithAsync("u5", ConversationStatus.Pending, "bob");
        await WithAsync("u6", ConversationStatus.Open, "dave", "other-tenant");
        await WithAsync("u7", ConversationStatus.Queued, null);

        var counts = await _store.Conversations.CountOpenConversationsAsync(Tenant, ["alice", "bob", "carol", "dave"], CancellationToken.None);
        Assert.Equal([("alice", 2), ("bob", 1), ("carol", 0), ("dave", 0)], new[] { "alice", "bob", "carol", "dave" }.Select(a => (a, counts.GetValueOrDefault(a))));
        // A store that does not count by itself (a third party's) gets the contract's default, which agrees.
        var byDefault = await ((IConversationStore)new ListingOnlyStore(_store.Conversations)).CountOpenConversationsAsync(Tenant, ["alice", "bob", "carol"], CancellationToken.None);
        Assert.Equal([2, 1, 0], new[] { "alice", "bob", "carol" }.Select(a => byDefault.GetValueOrDefault(a)));
        Assert.Empty(await _store.Conversations.CountOpenConversationsAsync(Tenant, [], CancellationToken.None));
        Assert.Equal("tenantId", (await Assert.ThrowsAnyAsync<ArgumentException>(() => _store.Conversations.CountOpenConversationsAsync(" ", ["alice"], CancellationToken.None).AsTask())).ParamName);
        Assert.Equal("assigneeIds", (await Assert.ThrowsAnyAsync<ArgumentException>(() => _store.Conversations.CountOpenConversationsAsync(Tenant, null!, CancellationToken.None).AsTask())).ParamName);
    }

    [Fact]
    public async Task Concurrent_look_ups_of_platform_messages_each_get_their_own_answer()
    {
        // A peak of platform pushes asks at once (a store may answer them together): each gets its own message, or none.
        var wechat = await NewConversationAsync("user-a", "wechat");
        var douyin = await NewConversationAsync("user-b", "douyin");
        var stored = new Dictionary<(string Channel, string Id), ChatMessage>();
        foreach (var (conversation, channel) in new[] { (wechat, "wechat"), (douyin, "douyin") })
        {
            for (var i = 0; i < 100; i++)
            {
                var result = await _store.Messages.AppendAsync(Message(conversation, $"{channel} {i}", platformId: $"pm-{i}"), CancellationToken.None);
                stored[(channel, $"pm-{i}")] = result.Message;
            }
        }

        var asked = (from tenant in new[] { Tenant, "other-tenant" }
                     from channel in new[] { "wechat", "douyin", "web" }
                     from i in Enumerable.Range(0, 150)
                     select (Tenant: tenant, Channel: channel, Id: $"pm-{i}")).ToList();
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var gaveUp = _store.Messages.FindByPlatformMessageIdAsync(Tenant, "wechat", "pm-1", cancelled.Token).AsTask();
        var answers = await Task.WhenAll(asked.Select(a => _store.Messages.FindByPlatformMessageIdAsync(a.Tenant, a.Channel, a.Id, CancellationToken.None).AsTask()));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gaveUp); // the one that gave up, and nobody else
        for (var i = 0; i < asked.Count; i++)
        {
            var (tenant, channel, id) = asked[i];
            if (tenant == Tenant && stored.TryGetValue((channel, id), out var expected))
            {
                Assert.Equal((expected.Id, expected.Seq, expected.ConversationId, expected.Content, tenant), (answers[i]?.Id, answers[i]?.Seq, answers[i]?.ConversationId, answers[i]?.Content, answers[i]?.TenantId));
            }
            else
            {
                Assert.Null(answers[i]);
            }
        }

        Assert.Equal(200, answers.Count(a => a is not null));
    }

    [Fact]
    public async Task The_write_path_reports_each_appends_time_by_outcome_and_each_batchs_size()
    {
        var meters = _store.Services.GetRequiredService<IMeterFactory>();
        using var durations = new MetricCollector<double>(meters, "Chat.Storage", "chat.store.append.duration");
        using var batches = new MetricCollector<int>(meters, "Chat.Storage", "chat.store.batch.size");
        var conversation = await NewConversationAsync();
        await Task.WhenAll(Enumerable.Range(0, 3).Select(i => _store.Messages.AppendAsync(Message(conversation, $"m{i}", clientId: $"c{i}"), CancellationToken.None).AsTask()));
        await _store.Messages.AppendAsync(Message(conversation, "m0", clientId: "c0"), CancellationToken.None); // a retry
        await Assert.ThrowsAsync<ConversationNotFoundException>(() => _store.Messages.AppendAsync(Message(conversation with { Id = 12345 }, "lost"), CancellationToken.None).AsTask());

        var measured = durations.GetMeasurementSnapshot();
        Assert.Equal(["duplicate", "failed", "stored", "stored", "stored"], measured.Select(m => (string)m.Tags["chat.outcome"]!).Order());
        Assert.All(measured, m => Assert.True(m.Value is > 0 and < 30, $"{m.Value} s"));
        Assert.All(measured, m => Assert.Equal(DbSystem, m.Tags["db.system.name"]));
        Assert.Equal(5, batches.GetMeasurementSnapshot().Sum(m => m.Value)); // every append went through one batch or another
    }

    [Fact]
    public async Task Retries_in_one_batch_are_stored_once()
    {
        var conversation = await NewConversationAsync();

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ =>
            _store.Messages.AppendAsync(Message(conversation, "same", clientId: "burst"), CancellationToken.None).AsTask()));

        Assert.Single(results.Select(r => (r.Message.Id, r.Message.Seq)).Distinct());
        Assert.Single(results, r => !r.IsDuplicate);
        Assert.Single(await ReadAsync(conversation));
    }

    [Fact]
    public async Task An_append_answers_its_conversations_status_and_assignee_as_it_found_them()
    {
        var conversation = await NewConversationAsync("user-assignee");
        var queued = await _store.Messages.AppendAsync(Message(conversation, "queued"), CancellationToken.None);
        Assert.Equal((ConversationStatus.Queued, (string?)null), (queued.ConversationStatus, queued.ConversationAssigneeId));

        await _store.Conversations.UpdateConversationAsync(Tenant, conversation.Id, ConversationStatus.Open, "alice", null, CancellationToken.None);
        var open = await _store.Messages.AppendAsync(Message(conversation, "to alice"), CancellationToken.None);
        Assert.Equal((ConversationStatus.Open, "alice"), (open.ConversationStatus, open.ConversationAssigneeId));

        // Batches that hold retries (each retry of a stored message, the rest new) take the careful path: the same answer.
        await _store.Conversations.UpdateConversationAsync(Tenant, conversation.Id, ConversationStatus.Pending, "bob", null, CancellationToken.None);
        await _store.Messages.AppendAsync(Message(conversation, "stored", clientId: "k-stored"), CancellationToken.None);
        var mixed = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            _store.Messages.AppendAsync(Message(conversation, "m", clientId: i % 2 == 0 ? "k-stored" : $"k-{i}"), CancellationToken.None).AsTask()));
        Assert.Equal(20, mixed.Count(r => !r.IsDuplicate));
        Assert.All(mixed.Where(r => !r.IsDuplicate), r => Assert.Equal((ConversationStatus.Pending, "bob"), (r.ConversationStatus, r.ConversationAssigneeId)));
    }

    [Fact]
    public async Task Conversations_have_their_own_seqs()
    {
        var a = await NewConversationAsync("user-a");
        var b = await NewConversationAsync("user-b");

        var a1 = await _store.Messages.AppendAsync(Message(a, "a1"), CancellationToken.None);
        var b1 = await _store.Messages.AppendAsync(Message(b, "b1"), CancellationToken.None);
        var a2 = await _store.Messages.AppendAsync(Message(a, "a2"), CancellationToken.None);

        Assert.Equal((1L, 1L, 2L), (a1.Message.Seq, b1.Message.Seq, a2.Message.Seq));
    }

    [Fact]
    public async Task An_append_to_a_missing_conversation_fails_clearly_and_stores_nothing()
    {
        var conversation = await NewConversationAsync();
        var missing = conversation with { Id = 987654321 };

        var ex = await Assert.ThrowsAsync<ConversationNotFoundException>(() => _store.Messages.AppendAsync(Message(missing, "lost?"), CancellationToken.None).AsTask());

        Assert.Equal("Conversation 987654321 of tenant 'shop-1' does not exist; the message was not stored.", ex.Message);
        Assert.Empty(await ReadAsync(missing));
    }

    [Theory]
    [InlineData("content")]
    [InlineData("tenant")]
    [InlineData("clientId")]
    [InlineData("conversation")]
    public async Task Bad_messages_are_refused_naming_the_field_and_nothing_is_stored(string fault)
    {
        var conversation = await NewConversationAsync();
        var message = Message(conversation, "ok");
        message = fault switch
        {
            "content" => message with { Content = new string('x', MessageValidation.MaxContentLength + 1) },
            "tenant" => message with { TenantId = " " },
            "clientId" => message with { ClientMessageId = new string('c', 129) },
            _ => message with { ConversationId = 0 },
        };

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => _store.Messages.AppendAsync(message, CancellationToken.None).AsTask());

        var field = fault switch { "content" => "Content", "tenant" => "TenantId", "clientId" => "ClientMessageId", _ => "ConversationId" };
        Assert.Contains("ChatMessage." + field, ex.Message, StringComparison.Ordinal);
        Assert.Empty(await ReadAsync(conversation));
    }

    [Fact]
    public async Task Concurrent_writers_with_retries_give_gap_free_unique_seqs_and_one_row_per_client_message_id()
    {
        const int Writers = 32;
        const int PerWriter = 1000;
        var conversations = new List<Conversation>();
        for (var c = 0; c < 20; c++)
        {
            conversations.Add(await NewConversationAsync($"user-{c}"));
        }

        var acknowledged = new ConcurrentDictionary<string, (long Id, long Seq, long Conversation)>();
        await Task.WhenAll(Enumerable.Range(0, Writers).Select(writer => Task.Run(async () =>
        {
            var random = new Random(writer);
            for (var i = 0; i < PerWriter; i++)
            {
                var conversation = conversations[random.Next(conversations.Count)];
                var clientId = $"w{writer}-m{i}";
                var message = Message(conversation, clientId, clientId);
                var first = await _store.Messages.AppendAsync(message, CancellationToken.None);
                Assert.False(first.IsDuplicate);
                Assert.True(acknowledged.TryAdd(clientId, (first.Message.Id, first.Message.Seq, conversation.Id)));
                if (random.Next(10) == 0)
                {
                    var retry = await _store.Messages.AppendAsync(message, CancellationToken.None);
                    Assert.True(retry.IsDuplicate);
                    Assert.Equal((first.Message.Id, first.Message.Seq), (retry.Message.Id, retry.Message.Seq));
                }
            }
        })));

        var total = 0;
        foreach (var conversation in conversations)
        {
            var all = new List<ChatMessage>();
            IReadOnlyList<ChatMessage> page;
            do
            {
                page = await ReadAsync(conversation, afterSeq: all.Count == 0 ? 0 : all[^1].Seq, limit: 1000);
                all.AddRange(page);
            }
            while (page.Count == 1000);

            Assert.Equal(Enumerable.Range(1, all.Count).Select(i => (long)i), all.Select(m => m.Seq));
            Assert.Equal(all.Count, all.Select(m => m.ClientMessageId).Distinct().Count());
            foreach (var m in all)
            {
                Assert.Equal((m.Id, m.Seq, conversation.Id), acknowledged[m.ClientMessageId!]);
            }

            total += all.Count;
        }

        Assert.Equal(Writers * PerWriter, total);
        Assert.Equal(Writers * PerWriter, acknowledged.Values.Select(v => v.Id).Distinct().Count());
    }

    [Fact]
    public async Task A_channel_identity_resolves_to_one_contact_and_one_conversation_even_when_raced()
    {
        var identity = new ChannelIdentity("douyin", "open-id-77");

        var contacts = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            _store.Conversations.ResolveContactAsync(Tenant, identity, "Bo", CancellationToken.None).AsTask()));
        var contact = Assert.Single(contacts.Select(c => c.Id).Distinct());
        var conversations = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            _store.Conversations.GetOrCreateConversationAsync(Tenant, contact, "douyin", CancellationToken.None).AsTask()));

        var conversation = conversations[0];
        Assert.Single(conversations.Select(c => c.Id).Distinct());
        Assert.Equal((ConversationStatus.Queued, 0L, contact, "douyin", (string?)null), (conversation.Status, conversation.LastSeq, conversation.ContactId, conversation.ChannelId, conversation.AssigneeId));
        Assert.Equal("Bo", contacts[0].DisplayName);

        Assert.Equal(contact, (await _store.Conversations.FindContactAsync(Tenant, identity, CancellationToken.None))!.Id);
        Assert.Null(await _store.Conversations.FindContactAsync(Tenant, new ChannelIdentity("douyin", "never-seen"), CancellationToken.None));
        Assert.Null(await _store.Conversations.FindContactAsync("shop-2", identity, CancellationToken.None));

        var other = await _store.Conversations.ResolveContactAsync(Tenant, new ChannelIdentity("douyin", "open-id-78"), null, CancellationToken.None);
        Assert.NotEqual(contact, other.Id);
        var otherTenant = await _store.Conversations.ResolveContactAsync("shop-2", identity, null, CancellationToken.None);
        Assert.NotEqual(contact, otherTenant.Id);
    }

    [Fact]
    public async Task A_platform_users_conversation_resolves_in_one_call_to_the_same_contact_and_conversation_even_when_raced()
    {
        var identity = new ChannelIdentity("wechat", "openid-resolve");
        var first = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            _store.Conversations.ResolveConversationAsync(Tenant, identity, "Cai", CancellationToken.None).AsTask()));
        var (contact, conversation) = first[0];
        Assert.All(first, r => Assert.Equal((contact.Id, conversation.Id), (r.Contact.Id, r.Conversation.Id)));
        Assert.Equal(("Cai", ConversationStatus.Queued, contact.Id, "wechat", Tenant), (contact.DisplayName, conversation.Status, conversation.ContactId, conversation.ChannelId, conversation.TenantId));

        // Again, as a customer who wrote before: the same contact (with its name and time) and the same conversation.
        await _store.Messages.AppendAsync(Message(conversation, "hello", platformId: "wx-resolve-1"), CancellationToken.None);
        var again = await _store.Conversations.ResolveConversationAsync(Tenant, identity, "another name", CancellationToken.None);
        Assert.Equal(contact, again.Contact);
        Assert.Equal((conversation.Id, 1L), (again.Conversation.Id, again.Conversation.LastSeq));
        Assert.Equal(await _store.Conversations.GetConversationAsync(Tenant, conversation.Id, CancellationToken.None), again.Conversation);

        // A contact known without a conversation on the channel gets one; another tenant's user is another contact.
        var known = await _store.Conversations.ResolveContactAsync(Tenant, new ChannelIdentity("wechat", "openid-known"), null, CancellationToken.None);
        var opened = await _store.Conversations.ResolveConversationAsync(Tenant, new ChannelIdentity("wechat", "openid-known"), null, CancellationToken.None);
        Assert.Equal((known.Id, known.Id), (opened.Contact.Id, opened.Conversation.ContactId));
        Assert.NotEqual(contact.Id, (await _store.Conversations.ResolveConversationAsync("shop-2", identity, null, CancellationToken.None)).Contact.Id);

        Assert.Equal("identity.PlatformUserId", (await Assert.ThrowsAnyAsync<ArgumentException>(() =>
            _store.Conversations.ResolveConversationAsync(Tenant, new ChannelIdentity("wechat", " "), null, CancellationToken.None).AsTask())).ParamName);
    }

    [Fact]
    public async Task Conversations_are_updated_and_listed_by_status_assignee_and_team()
    {
        var a = await NewConversationAsync("a");
        var b = await NewConversationAsync("b");
        var c = await NewConversationAsync("c");

        var updated = await _store.Conversations.UpdateConversationAsync(Tenant, a.Id, ConversationStatus.Open, "agent-1", null, CancellationToken.None);
        await _store.Conversations.UpdateConversationAsync(Tenant, b.Id, ConversationStatus.Open, "agent-2", "returns", CancellationToken.None);
        await _store.Conversations.UpdateConversationAsync(Tenant, c.Id, ConversationStatus.Resolved, null, null, CancellationToken.None);

        Assert.Equal((ConversationStatus.Open, "agent-1"), (updated.Status, updated.AssigneeId));
        var open = await _store.Conversations.ListConversationsAsync(new ConversationQuery { TenantId = Tenant, Status = ConversationStatus.Open }, CancellationToken.None);
        Assert.Equal([a.Id, b.Id], open.Select(x => x.Id).Order());
        var mine = await _store.Conversations.ListConversationsAsync(new ConversationQuery { TenantId = Tenant, AssigneeId = "agent-1" }, CancellationToken.None);
        Assert.Equal(a.Id, Assert.Single(mine).Id);
        var team = await _store.Conversations.ListConversationsAsync(new ConversationQuery { TenantId = Tenant, TeamId = "returns" }, CancellationToken.None);
        Assert.Equal((b.Id, "returns"), (Assert.Single(team).Id, team[0].TeamId));
        Assert.Null((await _store.Conversations.GetConversationAsync(Tenant, a.Id, CancellationToken.None))!.TeamId);
        var all = await _store.Conversations.ListConversationsAsync(new ConversationQuery { TenantId = Tenant, Limit = 2 }, CancellationToken.None);
        Assert.Equal(2, all.Count);
        Assert.Empty(await _store.Conversations.ListConversationsAsync(new ConversationQuery { TenantId = "nobody" }, CancellationToken.None));
        Assert.Null(await _store.Conversations.GetConversationAsync("shop-2", a.Id, CancellationToken.None));
        await Assert.ThrowsAsync<ChatStorageException>(() => _store.Conversations.UpdateConversationAsync(Tenant, 42, ConversationStatus.Open, null, null, CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task A_conversation_list_pages_from_a_cursor_through_every_conversation_once_in_order_ties_included()
    {
        var conversations = new List<Conversation>();
        for (var i = 0; i < 25; i++)
        {
            conversations.Add(await NewConversationAsync($"paged-{i}"));
        }

        // Messages appended at once share their batch's transaction, so many conversations change at the same moment:
        // the id orders those.
        await Task.WhenAll(conversations.Select(c => _store.Messages.AppendAsync(Message(c, "hello"), CancellationToken.None).AsTask()));
        var whole = await _store.Conversations.ListConversationsAsync(new ConversationQuery { TenantId = Tenant, Limit = 1000 }, CancellationToken.None);
        Assert.Equal(conversations.Select(c => c.Id).Order(), whole.Select(c => c.Id).Order());
        Assert.Equal(whole, whole.OrderByDescending(c => c.UpdatedAt).ThenByDescending(c => c.Id));
        Assert.Contains(whole.GroupBy(c => c.UpdatedAt), g => g.Count() > 1);

        var paged = new List<Conversation>();
        ConversationCursor? after = null;
        while (true)
        {
            var page = await _store.Conversations.ListConversationsAsync(new ConversationQuery { TenantId = Tenant, Limit = 4, After = after }, CancellationToken.None);
            paged.AddRange(page);
            if (page.Count < 4)
            {
                break;
            }

            after = ConversationCursor.After(page[^1]);
            if (paged.Count == 8)
            {
                // One already listed changes meanwhile: it moves to the head of the list, where the pages do not go back.
                await _store.Messages.AppendAsync(Message(paged[0], "again"), CancellationToken.None);
            }
        }

        Assert.Equal(whole.Select(c => c.Id), paged.Select(c => c.Id));

        // The cursor goes with the other filters; past the last one there is nothing.
        var open = await _store.Conversations.UpdateConversationAsync(Tenant, whole[10].Id, ConversationStatus.Open, "agent-1", null, CancellationToken.None);
        var mine = await _store.Conversations.ListConversationsAsync(new ConversationQuery { TenantId = Tenant, AssigneeId = "agent-1", After = ConversationCursor.After(whole[^1]) }, CancellationToken.None);
        Assert.Empty(mine);
        mine = await _store.Conversations.ListConversationsAsync(new ConversationQuery { TenantId = Tenant, AssigneeId = "agent-1", After = new ConversationCursor { UpdatedAt = open.UpdatedAt.AddSeconds(1), Id = 0 } }, CancellationToken.None);
        Assert.Equal(open.Id, Assert.Single(mine).Id);
        Assert.Empty(await _store.Conversations.ListConversationsAsync(new ConversationQuery { TenantId = Tenant, After = ConversationCursor.After(paged[^1]) }, CancellationToken.None));
    }

    [Fact]
    public async Task Concurrent_conditional_updates_give_an_assignee_no_more_open_conversations_than_their_capacity()
    {
        var queued = new List<Conversation>();
        for (var i = 0; i < 12; i++)
        {
            queued.Add(await NewConversationAsync($"capacity-{i}"));
        }

        var results = await Task.WhenAll(queued.Select(c => Task.Run(() => _store.Conversations.UpdateConversationIfAsync(
            Tenant, c.Id, ConversationStatus.Queued, null, ConversationStatus.Open, "agent-full", null, assigneeCapacity: 3, CancellationToken.None).AsTask())));

        Assert.Equal(3, results.Count(r => r is not null));
        var open = await _store.Conversations.ListConversationsAsync(new ConversationQuery { TenantId = Tenant, Status = ConversationStatus.Open, AssigneeId = "agent-full" }, CancellationToken.None);
        Assert.Equal(results.Where(r => r is not null).Select(r => r!.Id).Order(), open.Select(c => c.Id).Order());
        Assert.Equal(9, queued.Count(c => _store.Conversations.GetConversationAsync(Tenant, c.Id, CancellationToken.None).AsTask().Result!.Status == ConversationStatus.Queued));
    }

    [Fact]
    public async Task Of_concurrent_conditional_updates_of_a_queued_conversation_exactly_one_wins()
    {
        var conversation = await NewConversationAsync("cas");
        Assert.Equal((ConversationStatus.Queued, null), (conversation.Status, conversation.AssigneeId));

        var results = await Task.WhenAll(Enumerable.Range(1, 16).Select(i => Task.Run(() => _store.Conversations.UpdateConversationIfAsync(
            Tenant, conversation.Id, ConversationStatus.Queued, null, ConversationStatus.Open, $"agent-{i}", "sales", null, CancellationToken.None).AsTask())));

        var winner = Assert.Single(results, r => r is not null)!;
        var stored = (await _store.Conversations.GetConversationAsync(Tenant, conversation.Id, CancellationToken.None))!;
        Assert.Equal((ConversationStatus.Open, winner.AssigneeId, "sales"), (stored.Status, stored.AssigneeId, stored.TeamId));

        // An expectation that no longer holds changes nothing; one that holds (an assignee, not null) changes it.
        Assert.Null(await _store.Conversations.UpdateConversationIfAsync(Tenant, conversation.Id, ConversationStatus.Queued, null, ConversationStatus.Resolved, null, null, null, CancellationToken.None));
        Assert.Null(await _store.Conversations.UpdateConversationIfAsync(Tenant, conversation.Id, ConversationStatus.Open, "someone-else", ConversationStatus.Resolved, null, null, null, CancellationToken.None));
        Assert.Equal(stored.AssigneeId, (await _store.Conversations.GetConversationAsync(Tenant, conversation.Id, CancellationToken.None))!.AssigneeId);
        var resolved = await _store.Conversations.UpdateConversationIfAsync(Tenant, conversation.Id, ConversationStatus.Open, winner.AssigneeId, ConversationStatus.Resolved, null, null, null, CancellationToken.None);
        Assert.Equal((ConversationStatus.Resolved, null), (resolved!.Status, resolved.AssigneeId));
        Assert.Null(await _store.Conversations.UpdateConversationIfAsync(Tenant, 42, ConversationStatus.Queued, null, ConversationStatus.Open, "agent-1", null, null, CancellationToken.None));
    }

    [Fact]
    public async Task Worker_leases_are_never_shared_and_can_be_renewed_and_released()
    {
        var leases = await Task.WhenAll(Enumerable.Range(0, 10).Select(i =>
            _store.Leases.AcquireAsync($"node-{i}", TimeSpan.FromMinutes(1), CancellationToken.None).AsTask()));

        Assert.Equal(10, leases.Select(l => l.WorkerId).Distinct().Count());
        Assert.All(leases, l => Assert.InRange(l.WorkerId, 0, 1023));
        Assert.True(await _store.Leases.RenewAsync(leases[0], TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.False(await _store.Leases.RenewAsync(leases[0] with { Token = Guid.NewGuid() }, TimeSpan.FromMinutes(1), CancellationToken.None));

        await _store.Leases.ReleaseAsync(leases[3], CancellationToken.None);
        var next = await _store.Leases.AcquireAsync("node-new", TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.Equal(leases[3].WorkerId, next.WorkerId);
        Assert.False(await _store.Leases.RenewAsync(leases[3], TimeSpan.FromMinutes(1), CancellationToken.None));
    }

    [Fact]
    public async Task A_lapsed_lease_is_listed_until_forgotten_and_its_number_is_taken_last()
    {
        var released = await _store.Leases.AcquireAsync("released-node", TimeSpan.FromMinutes(1), CancellationToken.None);
        var live = await _store.Leases.AcquireAsync("live-node", TimeSpan.FromMinutes(1), CancellationToken.None);
        var crashed = await _store.Leases.AcquireAsync("crashed-node", TimeSpan.FromMilliseconds(50), CancellationToken.None);
        await _store.Leases.ReleaseAsync(released, CancellationToken.None);
        await Task.Delay(200);

        // Only the lease that lapsed without being released is listed: its node stopped without shutting down.
        var lapsed = Assert.Single(await _store.Leases.ListLapsedAsync(CancellationToken.None));
        Assert.Equal((crashed.WorkerId, crashed.Token), (lapsed.WorkerId, lapsed.Token));
        Assert.True(lapsed.ExpiresAt <= DateTimeOffset.UtcNow.AddSeconds(1));

        // A new node takes a number nobody holds before a lapsed one, so the live nodes see the lapse first.
        var fresh = await _store.Leases.AcquireAsync("new-node", TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.DoesNotContain(fresh.WorkerId, new[] { live.WorkerId, crashed.WorkerId });
        Assert.Single(await _store.Leases.ListLapsedAsync(CancellationToken.None));

        // Forgotten once, by one caller, and only once it has lapsed for as long as asked.
        Assert.False(await _store.Leases.ForgetLapsedAsync(lapsed, TimeSpan.FromHours(1), CancellationToken.None));
        Assert.False(await _store.Leases.ForgetLapsedAsync(lapsed with { Token = Guid.NewGuid() }, TimeSpan.Zero, CancellationToken.None));
        Assert.False(await _store.Leases.ForgetLapsedAsync(live, TimeSpan.Zero, CancellationToken.None)); // live: not lapsed
        // A lease store of another maker, with only the contract's required members, lists none and forgets none.
        IWorkerIdLeaseStore requiredOnly = new RequiredOnlyLeaseStore(_store.Leases);
        Assert.Empty(await requiredOnly.ListLapsedAsync(CancellationToken.None));
        Assert.False(await requiredOnly.ForgetLapsedAsync(lapsed, TimeSpan.Zero, CancellationToken.None));

        var forgetting = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => _store.Leases.ForgetLapsedAsync(lapsed, TimeSpan.Zero, CancellationToken.None).AsTask()));
        Assert.Equal(1, forgetting.Count(f => f));
        Assert.Empty(await _store.Leases.ListLapsedAsync(CancellationToken.None));
        Assert.False(await _store.Leases.RenewAsync(crashed, TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.True(await _store.Leases.RenewAsync(live, TimeSpan.FromMinutes(1), CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _store.Leases.ForgetLapsedAsync(lapsed, TimeSpan.FromSeconds(-1), CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task A_lapsed_lease_is_taken_over_when_every_other_number_is_held()
    {
        var stale = await _store.Leases.AcquireAsync("crashed-node", TimeSpan.FromMilliseconds(50), CancellationToken.None);
        await Task.Delay(200);

        // New nodes take every other number first (the store's host holds one too), then the lapsed one.
        var others = new List<WorkerIdLease>();
        WorkerIdLease fresh;
        while ((fresh = await _store.Leases.AcquireAsync($"node-{others.Count}", TimeSpan.FromMinutes(1), CancellationToken.None)).WorkerId != stale.WorkerId)
        {
            others.Add(fresh);
            Assert.True(others.Count < 1024, "a number was handed out twice");
        }

        Assert.InRange(others.Count, 1000, 1022);
        Assert.Equal(others.Count, others.Select(l => l.WorkerId).Distinct().Count());
        Assert.False(await _store.Leases.RenewAsync(stale, TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.Empty(await _store.Leases.ListLapsedAsync(CancellationToken.None));
        var full = await Assert.ThrowsAsync<ChatStorageException>(() => _store.Leases.AcquireAsync("one-too-many", TimeSpan.FromMinutes(1), CancellationToken.None).AsTask());
        Assert.Contains("No id-generator worker number is free", full.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Customers_messages_still_last_in_conversations_that_are_not_open_are_listed_as_unattended()
    {
        var from = DateTimeOffset.UtcNow.AddMinutes(-1);

        // Listed: a customer's message into a resolved conversation that nothing reopened, and one into a queued
        // conversation that nobody took.
        var resolved = await NewConversationAsync("u-resolved");
        await _store.Conversations.UpdateConversationAsync(Tenant, resolved.Id, ConversationStatus.Resolved, "alice", null, CancellationToken.None);
        var left = (await _store.Messages.AppendAsync(Message(resolved, "left behind"), CancellationToken.None)).Message;
        var queued = await NewConversationAsync("u-queued");
        var waiting = (await _store.Messages.AppendAsync(Message(queued, "waiting"), CancellationToken.None)).Message;

        // Not listed: an open conversation; one changed after the customer's message; one an agent answered.
        var open = await NewConversationAsync("u-open");
        await _store.Conversations.UpdateConversationAsync(Tenant, open.Id, ConversationStatus.Open, "alice", null, CancellationToken.None);
        await _store.Messages.AppendAsync(Message(open, "heard"), CancellationToken.None);
        var later = await NewConversationAsync("u-later");
        await _store.Messages.AppendAsync(Message(later, "then resolved"), CancellationToken.None);
        await Task.Delay(5); // a later millisecond than the message
        await _store.Conversations.UpdateConversationAsync(Tenant, later.Id, ConversationStatus.Resolved, "alice", null, CancellationToken.None);
        var answered = await NewConversationAsync("u-answered");
        await _store.Conversations.UpdateConversationAsync(Tenant, answered.Id, ConversationStatus.Pending, "alice", null, CancellationToken.None);
        await _store.Messages.AppendAsync(Message(answered, "question"), CancellationToken.None);
        await _store.Messages.AppendAsync(Message(answered, "an answer") with
        {
            Direction = MessageDirection.Outbound,
            Sender = new MessageSender(SenderKind.Agent, "alice"),
        }, CancellationToken.None);
        var to = DateTimeOffset.UtcNow.AddMinutes(1);

        var unattended = await _store.Messages.ListUnattendedAsync(from, to, afterId: 0, limit: 100, CancellationToken.None);
        Assert.Equal(new[] { left.Id, waiting.Id }.Order(), unattended.Select(m => m.Id));
        var listed = unattended.Single(m => m.Id == left.Id);
        Assert.Equal((Tenant, resolved.Id, left.Seq, "left behind", left.CreatedAt), (listed.TenantId, listed.ConversationId, listed.Seq, listed.Content, listed.CreatedAt));

        // Paged by id, and bounded by the window.
        var first = Assert.Single(await _store.Messages.ListUnattendedAsync(from, to, 0, 1, CancellationToken.None));
        var second = Assert.Single(await _store.Messages.ListUnattendedAsync(from, to, first.Id, 1, CancellationToken.None));
        Assert.Equal(unattended.Select(m => m.Id), new[] { first.Id, second.Id });
        Assert.Empty(await _store.Messages.ListUnattendedAsync(from, to, second.Id, 1, CancellationToken.None));
        Assert.Empty(await _store.Messages.ListUnattendedAsync(to, to.AddMinutes(1), 0, 100, CancellationToken.None));

        // Once something reopens its conversation, a message is no longer unattended.
        await _store.Conversations.UpdateConversationAsync(Tenant, resolved.Id, ConversationStatus.Open, "alice", null, CancellationToken.None);
        Assert.Equal([waiting.Id], (await _store.Messages.ListUnattendedAsync(from, to, 0, 100, CancellationToken.None)).Select(m => m.Id));

        // A message store of another maker, with only the contract's required members, finds none.
        IMessageStore requiredOnly = new RequiredOnlyMessageStore(_store.Messages);
        Assert.Empty(await requiredOnly.ListUnattendedAsync(from, to, 0, 100, CancellationToken.None));

        var badLimit = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _store.Messages.ListUnattendedAsync(from, to, 0, 1001, CancellationToken.None).AsTask());
        Assert.Equal("limit", badLimit.ParamName);
        Assert.Equal("to", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _store.Messages.ListUnattendedAsync(to, from, 0, 10, CancellationToken.None).AsTask())).ParamName);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _store.Messages.ListUnattendedAsync(from, to, 0, 0, CancellationToken.None).AsTask());
    }

    /// <summary>A message store with only the contract's required members, over a real one: its defaults are the contract's.</summary>
    private sealed class RequiredOnlyMessageStore(IMessageStore inner) : IMessageStore
    {
        public ValueTask<AppendResult> AppendAsync(ChatMessage message, CancellationToken cancellationToken) => inner.AppendAsync(message, cancellationToken);

        public ValueTask<IReadOnlyList<ChatMessage>> ReadAfterAsync(MessageQuery query, CancellationToken cancellationToken) => inner.ReadAfterAsync(query, cancellationToken);

        public ValueTask<ChatMessage?> FindByPlatformMessageIdAsync(string tenantId, string channelId, string platformMessageId, CancellationToken cancellationToken) =>
            inner.FindByPlatformMessageIdAsync(tenantId, channelId, platformMessageId, cancellationToken);
    }

    /// <summary>A lease store with only the contract's required members, over a real one: its defaults are the contract's.</summary>
    private sealed class RequiredOnlyLeaseStore(IWorkerIdLeaseStore inner) : IWorkerIdLeaseStore
    {
        public ValueTask<WorkerIdLease> AcquireAsync(string nodeName, TimeSpan timeToLive, CancellationToken cancellationToken) => inner.AcquireAsync(nodeName, timeToLive, cancellationToken);

        public ValueTask<bool> RenewAsync(WorkerIdLease lease, TimeSpan timeToLive, CancellationToken cancellationToken) => inner.RenewAsync(lease, timeToLive, cancellationToken);

        public ValueTask ReleaseAsync(WorkerIdLease lease, CancellationToken cancellationToken) => inner.ReleaseAsync(lease, cancellationToken);
    }

    /// <summary>A conversation store with only the contract's required members, over a real one: its defaults are the contract's.</summary>
    private sealed class ListingOnlyStore(IConversationStore inner) : IConversationStore
    {
        public ValueTask<Contact> ResolveContactAsync(string tenantId, ChannelIdentity identity, string? displayName, CancellationToken cancellationToken) =>
            inner.ResolveContactAsync(tenantId, identity, displayName, cancellationToken);

        public ValueTask<Contact?> FindContactAsync(string tenantId, ChannelIdentity identity, CancellationToken cancellationToken) =>
            inner.FindContactAsync(tenantId, identity, cancellationToken);

        public ValueTask<Conversation> GetOrCreateConversationAsync(string tenantId, long contactId, string channelId, CancellationToken cancellationToken) =>
            inner.GetOrCreateConversationAsync(tenantId, contactId, channelId, cancellationToken);

        public ValueTask<Conversation?> GetConversationAsync(string tenantId, long conversationId, CancellationToken cancellationToken) =>
            inner.GetConversationAsync(tenantId, conversationId, cancellationToken);

        public ValueTask<IReadOnlyList<Conversation>> ListConversationsAsync(ConversationQuery query, CancellationToken cancellationToken) =>
            inner.ListConversationsAsync(query, cancellationToken);

        public ValueTask<Conversation> UpdateConversationAsync(string tenantId, long conversationId, ConversationStatus status, string? assigneeId, string? teamId, CancellationToken cancellationToken) =>
            inner.UpdateConversationAsync(tenantId, conversationId, status, assigneeId, teamId, cancellationToken);

        public ValueTask<Conversation?> UpdateConversationIfAsync(string tenantId, long conversationId, ConversationStatus expectedStatus, string? expectedAssigneeId,
            ConversationStatus status, string? assigneeId, string? teamId, int? assigneeCapacity, CancellationToken cancellationToken) =>
            inner.UpdateConversationIfAsync(tenantId, conversationId, expectedStatus, expectedAssigneeId, status, assigneeId, teamId, assigneeCapacity, cancellationToken);
    }
}
