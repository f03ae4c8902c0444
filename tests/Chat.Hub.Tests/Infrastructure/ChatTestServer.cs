using System.Diagnostics;
using System.Text;
using Chat.Client;
using Chat.Hub;
using Chat.Hub.Security;
using Chat.Storage.Tests.Infrastructure;
using Chat.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Chat.Hub.Tests.Infrastructure;

public enum StoreKind
{
    Sqlite,
    Postgres,
}

/// <summary>Where a test host keeps its data, so a restarted host (or a second node) finds the same conversations.</summary>
public sealed class TestStorage
{
    private TestStorage(StoreKind kind, string location) => (Kind, Location) = (kind, location);

    public StoreKind Kind { get; }

    public string Location { get; }

    public static async Task<TestStorage> CreateAsync(StoreKind kind) => kind switch
    {
        StoreKind.Sqlite => new TestStorage(kind, Path.Combine(Directory.CreateTempSubdirectory("chat-hub-test-").FullName, "chat.db")),
        _ => new TestStorage(kind, (await PostgresServer.CreateDatabaseAsync()).Primary),
    };
}

/// <summary>A real host on Kestrel (loopback, a free port unless given): the Chat runtime, a store, the hub, JWT bearer for agents.</summary>
public sealed class ChatTestServer : IAsyncDisposable
{
    public static readonly byte[] VisitorKey = Encoding.UTF8.GetBytes("visitor-key-for-tests-only-0123456789abcdef");
    public static readonly byte[] AgentKey = Encoding.UTF8.GetBytes("agent-jwt-key-for-tests-only-0123456789abcdef");
    public const string AllowedOrigin = "https://shop.example";

    private readonly WebApplication _app;
    private readonly HttpClient _http = new();

    private ChatTestServer(WebApplication app, string url, TestStorage storage)
    {
        _app = app;
        Url = url;
        Storage = storage;
    }

    public string Url { get; }

    public TestStorage Storage { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<ChatTestServer> StartAsync(TestStorage storage, Action<ChatHubOptions>? configure = null, int port = 0,
        string? redis = null, Action<IChatBuilder>? chat = null, Microsoft.Extensions.Configuration.IConfiguration? configuration = null,
        Action<ILoggingBuilder>? logging = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (Environment.GetEnvironmentVariable("CHAT_TEST_LOG") == "1") { builder.Logging.AddConsole().SetMinimumLevel(LogLevel.Debug); }
        logging?.Invoke(builder.Logging);
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var chatBuilder = configuration is null ? builder.Services.AddChat() : builder.Services.AddChat(configuration);
        if (storage.Kind == StoreKind.Sqlite)
        {
            chatBuilder.AddSqliteStorage(storage.Location);
        }
        else
        {
            chatBuilder.AddPostgresStorage(storage.Location);
        }

        chatBuilder.AddHub(o =>
        {
            o.VisitorTokenKeys.Add(Convert.ToBase64String(VisitorKey));
            o.AllowAnonymousVisitors = true;
            o.AllowedOrigins.Add(AllowedOrigin);
            configure?.Invoke(o);
        });
        if (redis is not null)
        {
            chatBuilder.AddRedisBackplane(redis);
        }

        chat?.Invoke(chatBuilder);
        builder.Services.AddTestAgentJwt(AgentKey);

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapChat("/chat");
        await app.StartAsync();
        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ChatTestServer(app, url, storage);
    }

    public static string AgentToken(string agentId, string tenant = "default", DateTime? expires = null, byte[]? key = null, string[]? teams = null) =>
        TestAgentJwt.Create(key ?? AgentKey, agentId, tenant, expires, teams);

    /// <summary>A signed-in member of the shop's staff in a role (<c>chat-auditor</c>, <c>chat-privacy</c>).</summary>
    public static string StaffToken(string id, string role, string tenant = "default") =>
        TestAgentJwt.Create(AgentKey, id, tenant, extraClaims: [("role", role)]);

    /// <summary>An HTTP request to this host, with a bearer token when one is given.</summary>
    public Task<HttpResponseMessage> RequestAsync(HttpMethod method, string path, string? token)
    {
        var request = new HttpRequestMessage(method, Url + path);
        if (token is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        return _http.SendAsync(request);
    }

    public static string VisitorToken(string customerId, string tenant = "default", TimeSpan? lifetime = null) =>
        VisitorTokens.Create(VisitorKey, new VisitorIdentity(tenant, customerId, DateTimeOffset.UtcNow + (lifetime ?? TimeSpan.FromHours(1))) { DisplayName = "Visitor " + customerId });

    public CustomerChatClient Customer(string customerId, string tenant = "default", bool messagePack = false, string? token = null) =>
        new(new ChatClientOptions
        {
            HubUrl = new Uri(Url + "/chat/customer"),
            AccessTokenProvider = () => Task.FromResult<string?>(token ?? VisitorToken(customerId, tenant)),
            UseMessagePack = messagePack,
        });

    public AgentChatClient Agent(string agentId, string tenant = "default", bool messagePack = false, string? token = null, string[]? teams = null,
        bool catchUpNewConversations = true, string? via = null) =>
        new(new ChatClientOptions
        {
            HubUrl = new Uri((via ?? Url) + "/chat/agent"),
            AccessTokenProvider = () => Task.FromResult<string?>(token ?? AgentToken(agentId, tenant, teams: teams)),
            UseMessagePack = messagePack,
            CatchUpNewConversations = catchUpNewConversations,
            StatefulReconnect = via is null ? null : false, // through a fault proxy: a cut is a new connection
        });

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Waits for a condition that another thread makes true.</summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, string what, int timeoutMs = 15_000)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.ElapsedMilliseconds > timeoutMs)
            {
                throw new TimeoutException($"Timed out waiting for: {what}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Waits for a condition that takes a call to check (a store's), checking it every 100 ms.</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, string what, int timeoutMs = 15_000)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            if (watch.ElapsedMilliseconds > timeoutMs)
            {
                throw new TimeoutException($"Timed out waiting for: {what}");
            }

            await Task.Delay(100);
        }
    }
}
