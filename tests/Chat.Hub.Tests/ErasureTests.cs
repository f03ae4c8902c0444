using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Chat.Hub.Security;
using Chat.Hub.Tests.Infrastructure;
using Chat.Storage;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.Hub.Tests;

/// <summary>A customer's data erased on request, over REST, by the shop's privacy officer: recorded first, then gone.</summary>
public abstract class ErasureTests(StoreKind kind) : IAsyncLifetime
{
    private readonly HttpClient _http = new();
    private ChatTestServer _server = null!;

    public async Task InitializeAsync() => _server = await ChatTestServer.StartAsync(await TestStorage.CreateAsync(kind));

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    private static string OfficerToken(string id, string tenant = "default") =>
        Chat.TestSupport.TestAgentJwt.Create(ChatTestServer.AgentKey, id, tenant, extraClaims: [("role", ChatAuthentication.PrivacyRole)]);

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? token)
    {
        var request = new HttpRequestMessage(method, _server.Url + path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return _http.SendAsync(request);
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
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Delete, contact, null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Delete, contact, ChatTestServer.VisitorToken("c-erase"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(HttpMethod.Delete, contact, ChatTestServer.AgentToken("alice"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Delete, contact, OfficerToken("olga", "other-shop"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Delete, "/chat/api/contacts/12345", OfficerToken("olga"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, $"/chat/api/conversations/{conversation.Id}/messages", ChatTestServer.AgentToken("alice"))).StatusCode);

        var erase = await SendAsync(HttpMethod.Delete, contact, OfficerToken("olga"));
        Assert.Equal(HttpStatusCode.OK, erase.StatusCode);
        using (var erased = JsonDocument.Parse(await erase.Content.ReadAsStringAsync()))
        {
            var counts = erased.RootElement;
            Assert.Equal((1, 1, 1, 2), (counts.GetProperty("contacts").GetInt32(), counts.GetProperty("channelIdentities").GetInt32(),
                counts.GetProperty("conversations").GetInt32(), counts.GetProperty("messages").GetInt32()));
        }

        // Gone for agents; the other customer's conversation is untouched.
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Get, $"/chat/api/conversations/{conversation.Id}/messages", ChatTestServer.AgentToken("alice"))).StatusCode);
        var keptHistory = await SendAsync(HttpMethod.Get, $"/chat/api/conversations/{kept.Id}/messages", ChatTestServer.AgentToken("alice"));
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
    public async Task An_erasure_that_cannot_be_recorded_in_the_audit_log_is_refused_and_erases_nothing()
    {
        await using var customer = _server.Customer("c-erase-later");
        await customer.StartAsync();
        var conversation = await customer.StartConversationAsync();
        await customer.SendTextAsync("hello");

        await AuditTests.RenameAuditTableAsync(_server, "audit_log", "audit_log_gone");
        var refused = await SendAsync(HttpMethod.Delete, $"/chat/api/contacts/{conversation.ContactId}", OfficerToken("olga"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        await AuditTests.RenameAuditTableAsync(_server, "audit_log_gone", "audit_log");

        Assert.Equal(2, (await customer.SendTextAsync("still here")).Seq);
    }
}

public sealed class SqliteErasureTests() : ErasureTests(StoreKind.Sqlite);

public sealed class PostgresErasureTests() : ErasureTests(StoreKind.Postgres);
