using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Chat.Client;
using Chat.Plugins;
using Chat.Protocol;
using Chat.Runtime.Loading;
using Chat.Runtime.Pipeline;
using Chat.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat.Testing;

/// <summary>What a <see cref="PluginTestHost"/> runs.</summary>
public sealed class PluginTestHostOptions
{
    /// <summary>A built plugin folder (holding <c>plugin.json</c>), loaded in its own load context as a host would.</summary>
    public string? PluginFolder { get; set; }

    /// <summary>Plugin types compiled into the test, added as the host's <c>AddPlugin&lt;T&gt;()</c> would.</summary>
    public IList<Type> PluginTypes { get; } = [];

    /// <summary>
    /// Settings under the host's <c>Chat</c> section, for example <c>Plugins:acme-channel:Secret</c> (the plugin's own
    /// section) or <c>PluginHost:TimeBudget</c>.
    /// </summary>
    public IDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The tenant of the test's conversations. Default <c>default</c>.</summary>
    public string TenantId { get; set; } = "default";

    /// <summary>Write the host's logs to the console (with the test runner's output). Default false.</summary>
    public bool ShowLogs { get; set; }
}

/// <summary>
/// One plugin in a real host, in process: Kestrel on a loopback port, the Chat runtime and hub, SQLite storage in a
/// temporary folder. Feed it webhook requests (<see cref="PostWebhookAsync"/>) and pipeline messages
/// (<see cref="RunPipelineAsync"/>), read what was stored (<see cref="GetMessagesAsync"/>), reply as an agent
/// (<see cref="ReplyAsync"/>), and see every HTTP call the plugin made to its platform (<see cref="Http"/>).
/// </summary>
public sealed class PluginTestHost : IAsyncDisposable
{
    private const string AgentHeader = "X-Chat-Test-Agent";
    private static readonly System.Reflection.MethodInfo AddPluginMethod =
        typeof(ChatBuilderPluginExtensions).GetMethod(nameof(ChatBuilderPluginExtensions.AddPlugin))!;
    private readonly WebApplication _app;
    private readonly string _dataDirectory;
    private readonly string _tenantId;
    private readonly HttpClient _client;

    private PluginTestHost(WebApplication app, Uri baseAddress, string dataDirectory, string tenantId, RecordedHttp http)
    {
        _app = app;
        BaseAddress = baseAddress;
        _dataDirectory = dataDirectory;
        _tenantId = tenantId;
        Http = http;
        _client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>The host's address, for example <c>http://127.0.0.1:5123/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Every outbound HTTP call of the plugin, and how the "platform" answers them.</summary>
    public RecordedHttp Http { get; }

    /// <summary>The host's services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>The plugins the host loaded, with their status and the reason when not Active.</summary>
    public IReadOnlyList<PluginInfo> Plugins => _app.Services.GetRequiredService<IPluginCatalog>().Plugins;

    /// <summary>Starts a host with the plugin.</summary>
    /// <param name="configure">Names the plugin (folder or type) and its settings.</param>
    /// <returns>The running host.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="configure"/> is null.</exception>
    /// <exception cref="InvalidOperationException">Neither a folder nor a type was given, or the folder has no plugin.json.</exception>
    public static async Task<PluginTestHost> StartAsync(Action<PluginTestHostOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var options = new PluginTestHostOptions();
        configure(options);
        if (options.PluginFolder is null && options.PluginTypes.Count == 0)
        {
            throw new InvalidOperationException("Set PluginFolder (a built plugin folder) or add a type to PluginTypes.");
        }

        var settings = new Dictionary<string, string?>(options.Settings, StringComparer.OrdinalIgnoreCase);
        if (options.PluginFolder is not null)
        {
            var folder = Path.GetFullPath(options.PluginFolder);
            if (!File.Exists(Path.Combine(folder, "plugin.json")))
            {
                throw new InvalidOperationException($"'{folder}' has no plugin.json; build the plugin project first.");
            }

            // The plugin host loads every folder under its directory: give it one holding just this plugin.
            var plugins = Directory.CreateTempSubdirectory("chat-testing-plugins-").FullName;
            CopyDirectory(folder, Path.Combine(plugins, new DirectoryInfo(folder).Name));
            settings["PluginHost:Directory"] = plugins;
        }

        var data = Directory.CreateTempSubdirectory("chat-testing-").FullName;
        var recorded = new RecordedHttp();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (options.ShowLogs)
        {
            builder.Logging.AddConsole();
        }

        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var chat = builder.Services.AddChat(configuration);
        if (options.PluginFolder is not null)
        {
            chat.AddPlugins();
        }

        foreach (var type in options.PluginTypes)
        {
            AddPluginMethod.MakeGenericMethod(type).Invoke(null, [chat, type.Name]);
        }

        chat.AddSqliteStorage(Path.Combine(data, "chat.db"));
        chat.AddHub(o => o.DefaultTenantId = options.TenantId);
        builder.Services.Replace(ServiceDescriptor.Singleton<IHttpClientFactory>(new RecordingHttpClientFactory(recorded)));
        builder.Services.AddAuthentication(TestAgentHandler.SchemeName).AddScheme<AuthenticationSchemeOptions, TestAgentHandler>(TestAgentHandler.SchemeName, null);

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapChat("/chat");
        await app.StartAsync().ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new PluginTestHost(app, new Uri(address + "/"), data, options.TenantId, recorded);
    }

    /// <summary>Posts a platform push to <c>/chat/channels/{channelId}/webhook</c>, as the platform would.</summary>
    /// <param name="channelId">The plugin's channel id.</param>
    /// <param name="body">The raw body.</param>
    /// <param name="headers">Headers to send (signatures, for example).</param>
    /// <param name="query">A query string without the leading <c>?</c>, or null.</param>
    /// <returns>The host's answer: the plugin's reply, sent only after the push's messages were stored.</returns>
    public Task<HttpResponseMessage> PostWebhookAsync(string channelId, byte[] body, IReadOnlyDictionary<string, string>? headers = null, string? query = null) =>
        SendWebhookAsync(HttpMethod.Post, channelId, body, headers, query);

    /// <summary>Sends a GET to the channel's webhook (URL verification challenges).</summary>
    /// <param name="channelId">The plugin's channel id.</param>
    /// <param name="query">The query string without the leading <c>?</c>.</param>
    /// <returns>The host's answer.</returns>
    public Task<HttpResponseMessage> GetWebhookAsync(string channelId, string query) =>
        SendWebhookAsync(HttpMethod.Get, channelId, null, null, query);

    /// <summary>The stored messages of a platform customer's conversation on a channel, oldest first (agents' notes included).</summary>
    /// <param name="channelId">The channel id.</param>
    /// <param name="platformUserId">The customer's id on the platform.</param>
    /// <returns>The messages, or none when the customer has no conversation.</returns>
    public async Task<IReadOnlyList<ChatMessage>> GetMessagesAsync(string channelId, string platformUserId)
    {
        var conversation = await FindConversationAsync(channelId, platformUserId).ConfigureAwait(false);
        if (conversation is null)
        {
            return [];
        }

        var store = _app.Services.GetRequiredService<IMessageStore>();
        return await store.ReadAfterAsync(new MessageQuery { TenantId = _tenantId, ConversationId = conversation.Id, AfterSeq = 0, Limit = MessageQuery.MaxLimit }, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// Replies to a platform customer as a signed-in agent, over the real agent hub: the reply is stored and goes out
    /// through the channel's <c>IChannelSender</c> (watch <see cref="Http"/> for the platform call).
    /// </summary>
    /// <param name="channelId">The channel id.</param>
    /// <param name="platformUserId">The customer's id on the platform.</param>
    /// <param name="text">The reply.</param>
    /// <param name="agentId">The agent's id; default <c>test-agent</c>.</param>
    /// <returns>The stored reply's id and seq.</returns>
    /// <exception cref="InvalidOperationException">The customer has no conversation on the channel yet.</exception>
    public async Task<SendResult> ReplyAsync(string channelId, string platformUserId, string text, string agentId = "test-agent")
    {
        var conversation = await FindConversationAsync(channelId, platformUserId).ConfigureAwait(false)
                           ?? throw new InvalidOperationException($"'{platformUserId}' has no conversation on channel '{channelId}'; post a push first.");
        await using var agent = ConnectAgent(agentId);
        await agent.StartAsync().ConfigureAwait(false);
        if (conversation.AssigneeId != agentId)
        {
            await agent.AcceptAsync(conversation.Id).ConfigureAwait(false);
        }

        return await agent.ReplyAsync(conversation.Id, text).ConfigureAwait(false);
    }

    /// <summary>An agent client of this host, signed in as <paramref name="agentId"/>; start it, then use it.</summary>
    /// <param name="agentId">The agent's id.</param>
    /// <returns>The client (not started).</returns>
    public AgentChatClient ConnectAgent(string agentId = "test-agent") => new(new ChatClientOptions
    {
        HubUrl = new Uri(BaseAddress, "chat/agent"),
        ConfigureHttpConnection = http => http.Headers[AgentHeader] = agentId,
    });

    /// <summary>Runs one message through the pipeline (every active plugin's <c>IChannelPlugin</c>), without storing it.</summary>
    /// <param name="message">The message.</param>
    /// <param name="conversation">Its conversation; a queued web conversation of the test tenant when null.</param>
    /// <returns>The context after the pipeline: the changed message, properties, and whether a plugin stopped or rejected it.</returns>
    public async Task<MessageContext> RunPipelineAsync(ChatMessage message, Conversation? conversation = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        var context = new MessageContext(message, conversation ?? new Conversation { Id = message.ConversationId, TenantId = message.TenantId, ChannelId = message.ChannelId });
        await _app.Services.GetRequiredService<IMessagePipeline>().ExecuteAsync(context, CancellationToken.None).ConfigureAwait(false);
        return context;
    }

    /// <summary>Stops the host and deletes its data.</summary>
    /// <returns>A task that completes when the host has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // SQLite may still hold the file for a moment; the folder is in the temp directory anyway.
        }
    }

    private async Task<Conversation?> FindConversationAsync(string channelId, string platformUserId)
    {
        var store = _app.Services.GetRequiredService<IConversationStore>();
        var contact = await store.FindContactAsync(_tenantId, new ChannelIdentity(channelId, platformUserId), CancellationToken.None).ConfigureAwait(false);
        if (contact is null)
        {
            return null;
        }

        return await store.GetOrCreateConversationAsync(_tenantId, contact.Id, channelId, CancellationToken.None).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> SendWebhookAsync(HttpMethod method, string channelId, byte[]? body, IReadOnlyDictionary<string, string>? headers, string? query)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(channelId);
        var uri = $"chat/channels/{Uri.EscapeDataString(channelId)}/webhook" + (string.IsNullOrEmpty(query) ? string.Empty : "?" + query);
        using var request = new HttpRequestMessage(method, uri);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            if (!request.Headers.TryAddWithoutValidation(name, value) && request.Content is not null)
            {
                request.Content.Headers.Remove(name);
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return await _client.SendAsync(request).ConfigureAwait(false);
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
    }

    /// <summary>Signs in whoever names themselves in <c>X-Chat-Test-Agent</c>: for tests only.</summary>
    private sealed class TestAgentHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        public const string SchemeName = "ChatTestAgent";

        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (!Request.Headers.TryGetValue(AgentHeader, out var agent) || string.IsNullOrEmpty(agent))
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            var identity = new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, agent.ToString()), new Claim(ClaimTypes.Name, agent.ToString())], SchemeName);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
        }
    }
}
