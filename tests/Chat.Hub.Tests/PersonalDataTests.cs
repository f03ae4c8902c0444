using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Chat.Hub.Security;
using Chat.Hub.Tests.Infrastructure;
using Chat.Storage;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Tests;

/// <summary>
/// Personal data: agents' access to customer data goes into the append-only audit log before the data is shown (a read
/// that cannot be recorded is refused, and the shop's auditors read the log over REST), the shop's privacy officer
/// erases a customer's data on request, and retention erases the data of customers inactive for longer than the shop
/// keeps it.
/// </summary>
public abstract class PersonalDataTests(StoreKind kind) : IAsyncLifetime
{
    private ChatTestServer _server = null!;

    public async Task InitializeAsync() => _server = await ChatTestServer.StartAsync(await TestStorage.CreateAsync(kind), chat: WebhookTests.Plugins);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static string AuditorToken(string id, string tenant = "default") => ChatTestServer.StaffToken(id, ChatAuthentication.AuditorRole, tenant);

    private static string OfficerToken(string id, string tenant = "default") => ChatTestServer.StaffToken(id, ChatAuthentication.PrivacyRole, tenant);

    private Task<HttpResponseMessage> GetAsync(string path, string? token) => _server.RequestAsync(HttpMethod.Get, path, token);

    private Task<HttpResponseMessage> DeleteAsync(string path, string? token) => _server.RequestAsync(HttpMethod.Delete, path, token);

    private async Task<(Conversation Conversation, Chat.Client.CustomerChatClient Customer)> CustomerWithTwoMessagesAsync(string customerId)
    {
        var customer = _server.Customer(customerId);
        await customer.StartAsync();
        var conversation = await customer.StartConversationAsync();
        await customer.SendTextAsync("my phone is 13800000000");
        await customer.SendTextAsync("and my address is ...");
        return (conversation, customer);
    }

    private async Task<JsonElement[]> AuditOverRestAsync(string query = "", string? token = null)
    {
        var response = await GetAsync("/chat/api/audit" + query, token ?? AuditorToken("auditor-1"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.EnumerateArray().ToArray();
    }

    [Fact]
    public async Task Every_history_read_and_context_lookup_by_an_agent_is_recorded_and_auditors_read_the_record_over_rest()
    {
        var (conversation, customer) = await CustomerWithTwoMessagesAsync("c-audit");
        await using var _ = customer;
        var id = conversation.Id.ToString(CultureInfo.InvariantCulture);

        // alice reads the history over the hub (her connection then hears the conversation live: recorded once),
        // bob over REST, bob opens the context panel for an order; each entry says which seqs were shown.
        await using var alice = _server.Agent("alice");
        await alice.StartAsync();
        var page = await alice.ResumeAsync(new Protocol.ResumeRequest { ConversationId = conversation.Id, AfterSeq = 0, Limit = 50 });
        Assert.Equal(2, page.Messages.Count);
        Assert.Empty((await alice.ResumeAsync(new Protocol.ResumeRequest { ConversationId = conversation.Id, AfterSeq = 2, Limit = 50 })).Messages); // nothing shown, nothing recorded
        Assert.Equal(HttpStatusCode.OK, (await GetAsync($"/chat/api/conversations/{id}/messages?after=1", ChatTestServer.AgentToken("bob"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync($"/chat/api/conversations/{id}/context?order=SO-77", ChatTestServer.AgentToken("bob"))).StatusCode);

        // Refused reads record nothing: another tenant's agent, a bad page, a visitor.
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync($"/chat/api/conversations/{id}/messages", ChatTestServer.AgentToken("mallory", "other-shop"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await GetAsync($"/chat/api/conversations/{id}/messages?limit=0", ChatTestServer.AgentToken("bob"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync($"/chat/api/conversations/{id}/messages", ChatTestServer.VisitorToken("c-audit"))).StatusCode);

        var entries = await AuditOverRestAsync();
        Assert.Equal(
            [("alice", AuditActions.ReadHistory, "seq 1-2"), ("alice", AuditActions.FollowConversation, "after seq 2"),
             ("bob", AuditActions.ReadHistory, "seq 2-2"), ("bob", AuditActions.ReadCustomerContext, "order=SO-77")],
            entries.Select(e => (e.GetProperty("actorId").GetString(), e.GetProperty("action").GetString(), e.GetProperty("detail").GetString())));
        Assert.All(entries, e =>
        {
            Assert.Equal(id, e.GetProperty("conversationId").ToString());
            Assert.Equal(conversation.ContactId.ToString(CultureInfo.InvariantCulture), e.GetProperty("contactId").ToString());
            Assert.Equal("default", e.GetProperty("tenantId").GetString());
            Assert.Equal("127.0.0.1", e.GetProperty("remoteAddress").GetString());
        });

        // The auditor's filters and paging, and the other tenant's auditor sees none of it.
        Assert.Equal(["bob", "bob"], (await AuditOverRestAsync("?agent=bob")).Select(e => e.GetProperty("actorId").GetString()));
        Assert.Equal(4, (await AuditOverRestAsync($"?conversation={id}")).Length);
        var after = entries[0].GetProperty("id").ToString();
        Assert.Equal([entries[1].GetProperty("id").ToString()], (await AuditOverRestAsync($"?after={after}&limit=1")).Select(e => e.GetProperty("id").ToString()));
        Assert.Empty(await AuditOverRestAsync(token: AuditorToken("auditor-2", "other-shop")));

        // Only auditors: not an agent without the role, not a visitor, not anonymous; and a bad query is a 400.
        Assert.Equal(HttpStatusCode.Forbidden, (await GetAsync("/chat/api/audit", ChatTestServer.AgentToken("bob"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync("/chat/api/audit", ChatTestServer.VisitorToken("c-audit"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync("/chat/api/audit", null)).StatusCode);
        var bad = await GetAsync("/chat/api/audit?limit=5000", AuditorToken("auditor-1"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("limit", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_read_whose_access_cannot_be_recorded_is_refused_and_shows_nothing_until_the_log_is_back()
    {
        using var refusals = new MetricCollector<long>(_server.Services.GetRequiredService<IMeterFactory>(), "Chat.Hub", "chat.audit.refusals");
        var (conversation, customer) = await CustomerWithTwoMessagesAsync("c-audit-down");
        await using var _ = customer;
        await using var alice = _server.Agent("alice");
        await alice.StartAsync();
        var token = ChatTestServer.AgentToken("alice");
        var history = $"/chat/api/conversations/{conversation.Id}/messages";

        // The audit table is gone from under the host (a failed migration, a DBA's mistake): inserts into it fail.
        await RenameAuditTableAsync(_server, "audit_log", "audit_log_gone");
        var refused = await GetAsync(history, token);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        var body = await refused.Content.ReadAsStringAsync();
        Assert.Contains("audit log", body, StringComparison.Ordinal);
        Assert.DoesNotContain("13800000000", body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await GetAsync($"/chat/api/conversations/{conversation.Id}/context", token)).StatusCode);
        var hub = await Assert.ThrowsAsync<HubException>(() => alice.ResumeAsync(new Protocol.ResumeRequest { ConversationId = conversation.Id, Limit = 50 }));
        Assert.Contains("audit log", hub.Message, StringComparison.Ordinal);
        Assert.Equal([AuditActions.ReadHistory, AuditActions.ReadCustomerContext, AuditActions.ReadHistory],
            refusals.GetMeasurementSnapshot().Select(m => (string)m.Tags["chat.action"]!));

        // Back: the same host records and shows again, without a restart.
        await RenameAuditTableAsync(_server, "audit_log_gone", "audit_log");
        var shown = await GetAsync(history, token);
        Assert.Equal(HttpStatusCode.OK, shown.StatusCode);
        Assert.Contains("13800000000", await shown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(2, (await alice.ResumeAsync(new Protocol.ResumeRequest { ConversationId = conversation.Id, Limit = 50 })).Messages.Count);
        // The refused hub read did not start following it either: the follow is recorded now, with the read that worked.
        Assert.Equal([("alice", AuditActions.ReadHistory), ("alice", AuditActions.ReadHistory), ("alice", AuditActions.FollowConversation)],
            (await AuditOverRestAsync()).Select(e => (e.GetProperty("actorId").GetString(), e.GetProperty("action").GetString())));
    }

    [Fact]
    public async Task With_auditing_off_reads_record_nothing_and_a_host_without_an_audit_log_is_refused_at_start_unless_it_is_off()
    {
        await using var off = await ChatTestServer.StartAsync(await TestStorage.CreateAsync(kind), o => o.AuditAgentAccess = false);
        await using var customer = off.Customer("c-off");
        await customer.StartAsync();
        var conversation = await customer.StartConversationAsync();
        await customer.SendTextAsync("hello");
        await using var alice = off.Agent("alice");
        await alice.StartAsync();
        Assert.Single((await alice.ResumeAsync(new Protocol.ResumeRequest { ConversationId = conversation.Id, Limit = 50 })).Messages);
        Assert.Empty(await off.Services.GetRequiredService<IAuditLog>().ReadAsync(new AuditQuery { TenantId = "default" }, CancellationToken.None));

        var storage = await TestStorage.CreateAsync(StoreKind.Sqlite);
        var start = await Assert.ThrowsAsync<OptionsValidationException>(() => ChatTestServer.StartAsync(storage, chat: c => c.Services.RemoveAll<IAuditLog>()));
        Assert.Contains("AuditAgentAccess", start.Message, StringComparison.Ordinal);
        await using var withoutLog = await ChatTestServer.StartAsync(await TestStorage.CreateAsync(StoreKind.Sqlite), o => o.AuditAgentAccess = false,
            chat: c => c.Services.RemoveAll<IAuditLog>());
    }

    [Fact]
    public async Task A_privacy_officer_erases_a_customers_data_which_is_then_gone_for_agents_and_the_customer_starts_afresh()
    {
        await using var customer = _server.Customer("c-erase");
        await customer.StartAsync();
        var conversation = await customer.StartConversationAsync();
        await customer.SendTextAsync("my phone is 13800000000");
        await customer.SendTextAsync("please delete my data");
        await using var other = _server.Customer("c-keep");
        await other.StartAsync();
        var kept = await other.StartConversationAsync();
        await other.SendTextAsync("keep mine");
        var contact = $"/chat/api/contacts/{conversation.ContactId}";

        // Only the privacy officer, and only of the contact's own tenant.
        Assert.Equal(HttpStatusCode.Unauthorized, (await DeleteAsync(contact, null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await DeleteAsync(contact, ChatTestServer.VisitorToken("c-erase"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await DeleteAsync(contact, ChatTestServer.AgentToken("alice"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await DeleteAsync(contact, OfficerToken("olga", "other-shop"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await DeleteAsync("/chat/api/contacts/12345", OfficerToken("olga"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync($"/chat/api/conversations/{conversation.Id}/messages", ChatTestServer.AgentToken("alice"))).StatusCode);

        var erase = await DeleteAsync(contact, OfficerToken("olga"));
        Assert.Equal(HttpStatusCode.OK, erase.StatusCode);
        using (var erased = JsonDocument.Parse(await erase.Content.ReadAsStringAsync()))
        {
            var counts = erased.RootElement;
            Assert.Equal((1, 1, 1, 2), (counts.GetProperty("contacts").GetInt32(), counts.GetProperty("channelIdentities").GetInt32(),
                counts.GetProperty("conversations").GetInt32(), counts.GetProperty("messages").GetInt32()));
        }

        // Gone for agents; the other customer's conversation is untouched.
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync($"/chat/api/conversations/{conversation.Id}/messages", ChatTestServer.AgentToken("alice"))).StatusCode);
        var keptHistory = await GetAsync($"/chat/api/conversations/{kept.Id}/messages", ChatTestServer.AgentToken("alice"));
        Assert.Contains("keep mine", await keptHistory.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The customer's open connection: a send about the erased conversation is "not found" (not a storage fault to
        // retry), and starting again gives a new conversation from seq 1.
        var refused = await Assert.ThrowsAsync<HubException>(() => customer.SendTextAsync("are you there?"));
        Assert.Contains("not found", refused.Message, StringComparison.Ordinal);
        var fresh = await customer.StartConversationAsync();
        Assert.NotEqual(conversation.Id, fresh.Id);
        Assert.Equal(1, (await customer.SendTextAsync("hello again")).Seq);

        // Every authorized erasure request is in its tenant's audit log, recorded before anything was erased, found or
        // not; the unauthorized ones are not.
        var log = _server.Services.GetRequiredService<IAuditLog>();
        Assert.Equal([(AuditActions.EraseContact, 12345L), (AuditActions.EraseContact, conversation.ContactId)],
            (await log.ReadAsync(new AuditQuery { TenantId = "default", ActorId = "olga" }, CancellationToken.None)).Select(e => (e.Action, e.ContactId!.Value)));
        Assert.All(await log.ReadAsync(new AuditQuery { TenantId = "default", ActorId = "olga" }, CancellationToken.None), e => Assert.Null(e.ConversationId));
        var attempt = Assert.Single(await log.ReadAsync(new AuditQuery { TenantId = "other-shop" }, CancellationToken.None));
        Assert.Equal(("olga", conversation.ContactId), (attempt.ActorId, attempt.ContactId!.Value));
    }

    [Fact]
    public async Task A_platform_user_erased_on_request_starts_afresh_with_their_next_push()
    {
        // The node keeps the contact and conversation of a platform user who wrote lately; the erasure forgets them.
        using var http = new HttpClient();
        var first = await WebhookTests.PostAsync(http, _server, $$"""{"user":"openid-erased","id":"pm-erased-{{kind}}-1","text":"my phone is 13800000000"}""");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        await using var alice = _server.Agent("alice");
        await alice.StartAsync();
        var before = Assert.Single(await alice.ListConversationsAsync(status: null, mine: false), c => c.ChannelId == "test-channel");
        Assert.Equal(HttpStatusCode.OK, (await DeleteAsync($"/chat/api/contacts/{before.ContactId}", OfficerToken("olga"))).StatusCode);

        var next = await WebhookTests.PostAsync(http, _server, $$"""{"user":"openid-erased","id":"pm-erased-{{kind}}-2","text":"hello again"}""");
        Assert.Equal((HttpStatusCode.OK, "success"), (next.StatusCode, await next.Content.ReadAsStringAsync()));
        var after = Assert.Single(await alice.ListConversationsAsync(status: null, mine: false), c => c.ChannelId == "test-channel");
        Assert.NotEqual((before.Id, before.ContactId), (after.Id, after.ContactId));
        var history = await alice.ResumeAsync(new Chat.Protocol.ResumeRequest { ConversationId = after.Id });
        Assert.Equal([(1L, "hello again")], history.Messages.Select(m => (m.Seq, m.Content)));
        Assert.Single(SeenByPipeline.PlatformMessageIds, $"pm-erased-{kind}-2"); // forgotten at the erasure: the plugins saw it once
    }

    [Fact]
    public async Task An_erasure_that_cannot_be_recorded_in_the_audit_log_is_refused_and_erases_nothing()
    {
        await using var customer = _server.Customer("c-erase-later");
        await customer.StartAsync();
        var conversation = await customer.StartConversationAsync();
        await customer.SendTextAsync("hello");

        await RenameAuditTableAsync(_server, "audit_log", "audit_log_gone");
        var refused = await DeleteAsync($"/chat/api/contacts/{conversation.ContactId}", OfficerToken("olga"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        await RenameAuditTableAsync(_server, "audit_log_gone", "audit_log");

        Assert.Equal(2, (await customer.SendTextAsync("still here")).Seq);
    }

    [Fact]
    public async Task Retention_erases_the_customers_inactive_for_longer_than_the_shop_keeps_them_and_says_what_it_erased()
    {
        var logs = new CapturedLogs();
        await using var server = await StartSweepingAsync(logs, o => o.RetainInactiveContactsFor = TimeSpan.FromDays(30));
        using var retained = new MetricCollector<long>(server.Services.GetRequiredService<IMeterFactory>(), "Chat.Hub", "chat.retention.contacts");
        await using var gone = server.Customer("c-gone");
        await gone.StartAsync();
        var old = await gone.StartConversationAsync();
        await gone.SendTextAsync("my order from last spring");
        await gone.SendTextAsync("thanks");
        await using var kept = server.Customer("c-kept");
        await kept.StartAsync();
        var recent = await kept.StartConversationAsync();
        await kept.SendTextAsync("my order from today");
        await Task.Delay(500); // sweeps ran: both are active
        Assert.DoesNotContain(logs.Entries, e => e.EventId.Id == 57);

        // The first customer's last activity moves back 31 days, as if they had not written since.
        var days = TimeSpan.FromDays(31);
        await RunSqlAsync(server,
            $"UPDATE contacts SET created_at = created_at - {(long)days.TotalMilliseconds} WHERE id = {old.ContactId}; UPDATE conversations SET updated_at = updated_at - {(long)days.TotalMilliseconds} WHERE contact_id = {old.ContactId}",
            $"UPDATE chat.contacts SET created_at = created_at - interval '31 days' WHERE id = {old.ContactId}; UPDATE chat.conversations SET updated_at = updated_at - interval '31 days' WHERE contact_id = {old.ContactId}");
        await Eventually.TrueAsync(() => logs.Entries.Any(e => e.EventId.Id == 57), "the retention sweep");

        var swept = Assert.Single(logs.Entries, e => e.EventId.Id == 57);
        Assert.StartsWith("Retention erased 1 contact(s) with no activity since ", swept.Message, StringComparison.Ordinal);
        Assert.EndsWith(": 1 conversation(s), 2 message(s).", swept.Message, StringComparison.Ordinal);
        Assert.Equal(1, retained.GetMeasurementSnapshot().Sum(m => m.Value));
        var agent = ChatTestServer.AgentToken("alice");
        Assert.Equal(HttpStatusCode.NotFound, (await server.RequestAsync(HttpMethod.Get, $"/chat/api/conversations/{old.Id}/messages", agent)).StatusCode);
        Assert.Contains("my order from today", await (await server.RequestAsync(HttpMethod.Get, $"/chat/api/conversations/{recent.Id}/messages", agent)).Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retention_erases_messages_older_than_the_shop_keeps_them_from_a_customer_who_keeps_writing()
    {
        var logs = new CapturedLogs();
        await using var server = await StartSweepingAsync(logs, o => o.RetainMessagesFor = TimeSpan.FromDays(180));
        using var retained = new MetricCollector<long>(server.Services.GetRequiredService<IMeterFactory>(), "Chat.Hub", "chat.retention.messages");
        await using var customer = server.Customer("c-regular");
        await customer.StartAsync();
        var conversation = await customer.StartConversationAsync();
        await customer.SendTextAsync("my address is 1 Old Street");
        await customer.SendTextAsync("and my phone 13800000000");
        await Task.Delay(500); // sweeps ran: nothing is that old
        Assert.DoesNotContain(logs.Entries, e => e.EventId.Id == 63);

        // Those two move back 181 days; the customer writes again today.
        await RunSqlAsync(server,
            $"UPDATE messages SET created_at = created_at - {(long)TimeSpan.FromDays(181).TotalMilliseconds}",
            "UPDATE chat.messages SET created_at = created_at - interval '181 days'");
        Assert.Equal(3, (await customer.SendTextAsync("where is my parcel?")).Seq);
        await Eventually.TrueAsync(() => logs.Entries.Any(e => e.EventId.Id == 63), "the retention sweep");

        var swept = Assert.Single(logs.Entries, e => e.EventId.Id == 63);
        Assert.StartsWith("Retention erased 2 message(s) stored before ", swept.Message, StringComparison.Ordinal);
        Assert.Equal(2, retained.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.DoesNotContain(logs.Entries, e => e.EventId.Id == 57); // no contact was erased
        var history = await customer.ResumeAsync(new Chat.Protocol.ResumeRequest { ConversationId = conversation.Id });
        Assert.Equal([(3L, "where is my parcel?")], history.Messages.Select(m => (m.Seq, m.Content)));
        Assert.Equal(4, (await customer.SendTextAsync("thanks")).Seq);
    }

    [Theory]
    [InlineData("12:00:00", "RetainInactiveContactsFor must be at least one day")]
    [InlineData("23:59:59", "RetainMessagesFor must be at least one day")]
    [InlineData("00:00:00", "RetentionSweepInterval must be more than zero")]
    public async Task A_retention_shorter_than_a_day_is_refused_at_start(string value, string reason)
    {
        var storage = await TestStorage.CreateAsync(StoreKind.Sqlite);
        var refused = await Assert.ThrowsAsync<OptionsValidationException>(() => ChatTestServer.StartAsync(storage, o =>
        {
            o.RetainInactiveContactsFor = reason.StartsWith("RetainInactive", StringComparison.Ordinal) ? TimeSpan.Parse(value, CultureInfo.InvariantCulture) : TimeSpan.FromDays(1);
            o.RetainMessagesFor = reason.StartsWith("RetainMessages", StringComparison.Ordinal) ? TimeSpan.Parse(value, CultureInfo.InvariantCulture) : TimeSpan.FromDays(1);
            o.RetentionSweepInterval = reason.StartsWith("RetentionSweep", StringComparison.Ordinal) ? TimeSpan.Parse(value, CultureInfo.InvariantCulture) : TimeSpan.FromHours(1);
        }));
        Assert.Contains(reason, refused.Message, StringComparison.Ordinal);
    }

    /// <summary>A host with the given retention whose sweeps run every 200 ms, its logs captured.</summary>
    private async Task<ChatTestServer> StartSweepingAsync(CapturedLogs logs, Action<ChatHubOptions> retain) =>
        await ChatTestServer.StartAsync(await TestStorage.CreateAsync(kind), o =>
        {
            retain(o);
            o.RetentionSweepInterval = TimeSpan.FromMilliseconds(200);
        }, logging: l => l.AddProvider(logs));

    /// <summary>Takes the audit table away from under a running host (a failed migration, a DBA's mistake), or puts it back.</summary>
    private static Task RenameAuditTableAsync(ChatTestServer server, string from, string to) =>
        RunSqlAsync(server, $"ALTER TABLE {from} RENAME TO {to}", $"ALTER TABLE chat.{from} RENAME TO {to}");

    /// <summary>Runs SQL on the host's database behind its back: the SQLite statement or the PostgreSQL one.</summary>
    private static async Task RunSqlAsync(ChatTestServer server, string sqlite, string postgres)
    {
        if (server.Storage.Kind == StoreKind.Sqlite)
        {
            await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={server.Storage.Location};Pooling=false");
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = sqlite;
            await command.ExecuteNonQueryAsync();
        }
        else
        {
            await using var connection = new Npgsql.NpgsqlConnection(server.Storage.Location);
            await connection.OpenAsync();
            await using var command = new Npgsql.NpgsqlCommand(postgres, connection);
            await command.ExecuteNonQueryAsync();
        }
    }
}

public sealed class SqlitePersonalDataTests() : PersonalDataTests(StoreKind.Sqlite);

public sealed class PostgresPersonalDataTests() : PersonalDataTests(StoreKind.Postgres);
