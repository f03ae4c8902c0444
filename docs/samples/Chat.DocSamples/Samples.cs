using Chat;
using Chat.Client;
using Chat.Hub;
using Chat.Hub.Security;
using Chat.Plugins;
using Chat.Protocol;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;

namespace Chat.DocSamples;

/// <summary>README.md.</summary>
public static class Readme
{
    public static void Host(string[] args)
    {
        #region readme-host
        // dotnet add package Chat.Hub; dotnet add package Chat.Storage.Postgres
        var builder = WebApplication.CreateBuilder(args);

        builder.Services.AddChat(builder.Configuration.GetSection("Chat")) // options validated at start-up
            .AddPlugins()                  // every plugins/<id>/plugin.json beside the host, each in its own load context
            .AddPlugin<MyModeration>()     // or a plugin compiled into the host
            .AddPostgresStorage(builder.Configuration.GetConnectionString("chat")!) // or .AddSqliteStorage("chat.db")
            .AddHub(builder.Configuration.GetSection("Chat:Hub")); // customer and agent hubs, webhooks, outbox; .AddRedisBackplane(...) for several nodes
        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(); // your agents' sign-in

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapHealthChecks("/health");    // "chat-plugins" check: Degraded names any faulted or incompatible plugin
        app.MapChat("/chat");              // /chat/customer and /chat/agent hubs, /chat/channels/{id}/webhook, /chat/api/..., /chat/plugins
        app.Run();
        #endregion
    }
}

#region readme-plugin
// A plugin is one class against Chat.Abstractions; higher Priority runs first.
sealed class MyModeration : IChannelPlugin
{
    public int Priority => PluginPriority.Moderation;
    public ValueTask OnMessageAsync(MessageContext context, CancellationToken cancellationToken)
    {
        if (context.Message.Content.Contains("http://", StringComparison.Ordinal)) context.Reject("links are not allowed");
        return ValueTask.CompletedTask;
    }
}
#endregion

/// <summary>docs/getting-started.md.</summary>
public static class GettingStarted
{
    public static void Embed(string[] args)
    {
        #region getting-started-embed
        var builder = WebApplication.CreateBuilder(args);
        builder.Services.AddChat(builder.Configuration.GetSection("Chat"))
            .AddPlugins()                                             // plugins/<id>/plugin.json beside the host
            .AddPostgresStorage(builder.Configuration.GetConnectionString("chat")!)   // or .AddSqliteStorage("chat.db")
            .AddHub(builder.Configuration.GetSection("Chat:Hub"));   // hubs, webhooks, outbox, agents' REST
        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(/* your agents' sign-in */);

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapHealthChecks("/health");
        app.MapChat("/chat");
        app.Run();
        #endregion
    }

    public static async Task AgentAsync(string agentJwt)
    {
        #region getting-started-agent
        await using var agent = new AgentChatClient(new ChatClientOptions
        {
            HubUrl = new Uri("https://shop.example/chat/agent"),
            AccessTokenProvider = () => Task.FromResult<string?>(agentJwt),
        });
        agent.MessageReceived += m => { Console.WriteLine($"{m.ConversationId}#{m.Seq} {m.Sender.DisplayName}: {m.Content}"); return Task.CompletedTask; };
        await agent.StartAsync();
        await agent.SetPresenceAsync(AgentPresence.Online, capacity: 5);   // queued conversations start arriving
        #endregion
    }
}

/// <summary>docs/hub.md.</summary>
public static class HubDocs
{
    public static void Host(WebApplicationBuilder builder)
    {
        #region hub-host
        builder.Services.AddChat(builder.Configuration.GetSection("Chat"))
            .AddPlugins()
            .AddPostgresStorage(builder.Configuration.GetConnectionString("chat")!)
            .AddHub(builder.Configuration.GetSection("Chat:Hub"))   // or .AddHub(o => { ... })
            .AddRedisBackplane("redis:6379");                        // only with several nodes

        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(/* your agents' sign-in */);

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapChat("/chat");   // returns a convention builder: add CORS, rate limiting, more policies
        #endregion
    }

    public static async Task CustomerAsync(string visitorToken, long lastSeqIHave)
    {
        #region hub-customer
        await using var customer = new CustomerChatClient(new ChatClientOptions
        {
            HubUrl = new Uri("https://shop.example/chat/customer"),
            AccessTokenProvider = () => Task.FromResult<string?>(visitorToken),
        });
        customer.MessageReceived += message => { Console.WriteLine($"{message.Seq}: {message.Content}"); return Task.CompletedTask; };
        await customer.StartAsync();
        await customer.StartConversationAsync(afterSeq: lastSeqIHave);   // delivers the history after it, then live messages
        await customer.SendTextAsync("where is my parcel?");             // returns {Id, Seq} once stored
        #endregion
    }
}

/// <summary>docs/storage.md.</summary>
public static class StorageDocs
{
    public static void Choose(WebApplicationBuilder builder)
    {
        #region storage-choose
        builder.Services.AddChat(builder.Configuration.GetSection("Chat"))
            .AddPostgresStorage("Host=db;Username=chat;Password=...;Database=chat");   // production
        //  .AddSqliteStorage("chat.db");                                              // evaluation, small single-node shops
        #endregion
    }
}

#region plugin-moderation
public sealed class Startup : IPluginStartup
{
    public void ConfigureServices(PluginStartupContext context, IServiceCollection services) =>
        services.Configure<AcmeOptions>(context.Configuration);   // Chat:Plugins:acme-moderation
}

public sealed class AcmeModeration(IOptions<AcmeOptions> options, ILogger<AcmeModeration> logger) : IChannelPlugin
{
    public int Priority => PluginPriority.Moderation;

    public ValueTask OnMessageAsync(MessageContext context, CancellationToken cancellationToken)
    {
        if (options.Value.BannedWords.Any(w => context.Message.Content.Contains(w, StringComparison.OrdinalIgnoreCase)))
        {
            logger.LogInformation("Rejected message {MessageId}", context.Message.Id);
            context.Reject("the message contains a banned word");
        }

        return ValueTask.CompletedTask;
    }
}
#endregion

/// <summary>The moderation sample's options.</summary>
public sealed class AcmeOptions
{
    public List<string> BannedWords { get; set; } = [];
}

/// <summary>docs/security.md.</summary>
public static class SecurityDocs
{
    public static string IssueToken(string shopCustomerId, string customerName, string keyBase64)
    {
        #region security-visitor-token
        // In the shop's backend, for a signed-in shopper: the same key is in Chat:Hub:VisitorTokenKeys on the chat host.
        var token = VisitorTokens.Create(Convert.FromBase64String(keyBase64),
            new VisitorIdentity("default", shopCustomerId, DateTimeOffset.UtcNow.AddHours(12)) { DisplayName = customerName });
        // Hand it to the page; the widget (or CustomerChatClient) sends it as access_token.
        #endregion
        return token;
    }

    public static void AgentPolicy(WebApplicationBuilder builder)
    {
        #region security-agent-policy
        // Only staff whose sign-in carries role=agent may use the agent hub and the agents' REST.
        builder.Services.AddAuthorization(o => o.AddPolicy(ChatAuthentication.AgentPolicy, p => p
            .RequireAuthenticatedUser()
            .RequireRole("agent")));
        #endregion
    }
}

/// <summary>docs/hosting.md.</summary>
public static class HostingDocs
{
    public static void ScaleOut(WebApplicationBuilder builder)
    {
        #region hosting-scale-out
        builder.Services.AddChat(builder.Configuration.GetSection("Chat"))
            .AddPlugins()
            .AddPostgresStorage(o =>
            {
                o.ConnectionString = builder.Configuration.GetConnectionString("chat")!;              // the primary
                o.ReadConnectionString = builder.Configuration.GetConnectionString("chat-replicas"); // standbys, for relaxed reads
            })
            .AddHub(builder.Configuration.GetSection("Chat:Hub"))
            .AddRedisBackplane(builder.Configuration.GetConnectionString("redis")!); // live pushes between the nodes
        #endregion
    }
}
