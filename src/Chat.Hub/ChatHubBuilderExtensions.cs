using Chat.Hub;
using Chat.Hub.Hubs;
using Chat.Hub.Security;
using Chat.Hub.Services;
using Chat.Protocol;
using Chat.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the real-time hub to the Chat framework.</summary>
public static class ChatHubBuilderExtensions
{
    /// <summary>
    /// Adds the customer and agent hubs (SignalR, JSON and MessagePack protocols), the visitor-token authentication
    /// scheme, the <c>ChatCustomer</c> and <c>ChatAgent</c> policies (the host replaces <c>ChatAgent</c> by adding its
    /// own policy with that name), the message path and conversation lifecycle. Map them with <c>app.MapChat("/chat")</c>.
    /// </summary>
    /// <param name="chat">The Chat builder.</param>
    /// <returns>The Chat builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="chat"/> is null.</exception>
    public static IChatBuilder AddHub(this IChatBuilder chat) => chat.AddHub(static _ => { });

    /// <summary>Adds the hub (see <see cref="AddHub(IChatBuilder)"/>) with options set in code.</summary>
    /// <param name="chat">The Chat builder.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The Chat builder.</returns>
    /// <exception cref="ArgumentNullException">A parameter is null.</exception>
    public static IChatBuilder AddHub(this IChatBuilder chat, Action<ChatHubOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(chat);
        ArgumentNullException.ThrowIfNull(configure);
        var services = chat.Services;
        var options = services.AddOptions<ChatHubOptions>();
        options.Configure(configure);

        if (services.Any(static d => d.ServiceType == typeof(ConversationService)))
        {
            return chat;
        }

        options
            .Validate(static o => !string.IsNullOrWhiteSpace(o.DefaultTenantId), "Chat:Hub:DefaultTenantId is empty.")
            .Validate(static o => o.MaxContentLength > 0, "Chat:Hub:MaxContentLength must be more than zero.")
            .Validate(static o => o.MaxHubMessageBytes >= 1024, "Chat:Hub:MaxHubMessageBytes must be at least 1024.")
            .Validate(static o => o.MaxWebhookBodyBytes > 0, "Chat:Hub:MaxWebhookBodyBytes must be more than zero.")
            .Validate(static o => o.CallsPerSecond > 0 && o.CallBurst >= 1, "Chat:Hub:CallsPerSecond and CallBurst must be more than zero.")
            .Validate(static o => o.DefaultAgentCapacity >= 0, "Chat:Hub:DefaultAgentCapacity must not be negative.")
            .Validate(static o => o.AgentReconnectBufferBytes >= 64 * 1024, "Chat:Hub:AgentReconnectBufferBytes must be at least 64 KiB.")
            .Validate(static o => o.CustomerBacklogBytes >= 64 * 1024, "Chat:Hub:CustomerBacklogBytes must be at least 64 KiB.")
            .Validate(static o => o.MaxDeliveryAttempts >= 1, "Chat:Hub:MaxDeliveryAttempts must be at least 1.")
            .Validate(static o => o.DeliveryRetryDelay > TimeSpan.Zero && o.DeliveryTimeout > TimeSpan.Zero, "Chat:Hub:DeliveryRetryDelay and DeliveryTimeout must be more than zero.")
            .Validate<IServiceProvider>(static (o, sp) => !o.AuditAgentAccess || sp.GetService<IAuditLog>() is not null, AgentAccessAudit.MissingLog)
            .Validate(static o => o.RetainInactiveContactsFor is null || o.RetainInactiveContactsFor >= TimeSpan.FromDays(1), "Chat:Hub:RetainInactiveContactsFor must be at least one day (1.00:00:00).")
            .Validate(static o => o.RetentionSweepInterval > TimeSpan.Zero, "Chat:Hub:RetentionSweepInterval must be more than zero.")
            .Validate(static o => o.RetainMessagesFor is null || o.RetainMessagesFor >= TimeSpan.FromDays(1), "Chat:Hub:RetainMessagesFor must be at least one day (1.00:00:00).")
            .Validate<IServiceProvider>(static (o, sp) => (o.RetainInactiveContactsFor is null && o.RetainMessagesFor is null) || sp.GetService<IContactEraser>() is not null,
                "Chat:Hub:RetainInactiveContactsFor and RetainMessagesFor need a store that erases (IContactEraser): add AddPostgresStorage or AddSqliteStorage.")
            .ValidateOnStart();

        services.TryAddSingleton<ChatHubMetrics>();
        services.TryAddSingleton<VisitorKeyRing>();
        services.TryAddSingleton<AgentAccessAudit>();
        services.TryAddSingleton<AgentRegistry>();
        services.TryAddSingleton<AgentFeed>();
        services.TryAddSingleton<RecentInboundContacts>();
        services.TryAddSingleton<ConversationService>();
        services.TryAddSingleton<OutboxWorker>();
        services.AddHostedService(static sp => sp.GetRequiredService<OutboxWorker>());
        services.AddHostedService<RetentionWorker>();
        // What a node that stopped without shutting down left unpushed or unattended (its id-generator lease lapsed).
        services.AddHostedService<LapsedNodeRecovery>();

        services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, VisitorAuthenticationHandler>(ChatAuthentication.VisitorScheme, null);

        // A host that has not set up its agents' sign-in yet: the agent hub answers 401, not a 500 for want of a scheme
        // to challenge with.
        services.PostConfigure<AuthenticationOptions>(static o =>
        {
            if (o.DefaultScheme is null && o.DefaultChallengeScheme is null)
            {
                o.DefaultChallengeScheme = ChatAuthentication.VisitorScheme;
            }
        });
        services.AddAuthorization();
        services.AddOptions<AuthorizationOptions>().Configure(static o =>
        {
            if (o.GetPolicy(ChatAuthentication.CustomerPolicy) is null)
            {
                o.AddPolicy(ChatAuthentication.CustomerPolicy, static p => p
                    .AddAuthenticationSchemes(ChatAuthentication.VisitorScheme)
                    .RequireClaim(ChatAuthentication.VisitorCustomerClaim)
                    .RequireClaim(ChatAuthentication.VisitorTenantClaim));
            }

            if (o.GetPolicy(ChatAuthentication.AgentPolicy) is null)
            {
                o.AddPolicy(ChatAuthentication.AgentPolicy, static p => p
                    .RequireAuthenticatedUser()
                    .RequireAssertion(static c => !c.User.HasClaim(static claim => claim.Type == ChatAuthentication.VisitorCustomerClaim)));
            }

            AddStaffPolicy(o, ChatAuthentication.AuditorPolicy, ChatAuthentication.AuditorRole);
            AddStaffPolicy(o, ChatAuthentication.PrivacyPolicy, ChatAuthentication.PrivacyRole);
        });

        // AddHubOptions marks the hub's own options as set, so SignalR uses them (and their filters) instead of the global ones.
        services.AddSignalR().AddJsonProtocol(static o => ChatJson.Apply(o.PayloadSerializerOptions)).AddMessagePackProtocol()
            .AddHubOptions<CustomerHub>(static _ => { })
            .AddHubOptions<AgentHub>(static _ => { });
        // The customers' hub keeps its connections, rate and errors in its own methods (see ChatHubFilter).
        services.AddOptions<HubOptions<CustomerHub>>().Configure<IOptions<ChatHubOptions>>(static (hub, o) => ConfigureHub(hub, o.Value));
        services.AddOptions<HubOptions<AgentHub>>().Configure<IOptions<ChatHubOptions>>(static (hub, o) =>
        {
            ConfigureHub(hub, o.Value);
            hub.AddFilter<ChatHubFilter>();
            hub.StatefulReconnectBufferSize = o.Value.AgentReconnectBufferBytes;
        });
        services.TryAddSingleton<IHubActivator<CustomerHub>, SingletonHubActivator<CustomerHub>>();
        services.TryAddSingleton<IHubActivator<AgentHub>, SingletonHubActivator<AgentHub>>();
        services.TryAddSingleton<ChatConnections>();
        services.TryAddSingleton<ChatHubFilter>();
        return chat;
    }

    /// <summary>Adds the hub with options bound to a configuration section (usually <c>Chat:Hub</c>).</summary>
    /// <param name="chat">The Chat builder.</param>
    /// <param name="section">The section.</param>
    /// <returns>The Chat builder.</returns>
    /// <exception cref="ArgumentNullException">A parameter is null.</exception>
    public static IChatBuilder AddHub(this IChatBuilder chat, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(chat);
        ArgumentNullException.ThrowIfNull(section);
        chat.Services.AddOptions<ChatHubOptions>().Bind(section);
        return chat.AddHub();
    }

    /// <summary>
    /// Connects the hubs of several nodes through Redis, so a customer on one node and an agent on another reach each
    /// other: customers' pushes, the agents' feed and which agents take conversations go through channels of the
    /// framework's own (each node serves its own connections), so any node assigns a conversation to any available
    /// agent. The host's own hubs, if any, scale out through the SignalR Redis backplane on the same Redis.
    /// </summary>
    /// <param name="chat">The Chat builder.</param>
    /// <param name="configuration">The StackExchange.Redis configuration string, for example <c>localhost:6379</c>.</param>
    /// <returns>The Chat builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="chat"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="configuration"/> is empty.</exception>
    public static IChatBuilder AddRedisBackplane(this IChatBuilder chat, string configuration)
    {
        ArgumentNullException.ThrowIfNull(chat);
        ArgumentException.ThrowIfNullOrWhiteSpace(configuration);
        chat.AddHub();
        chat.Services.AddSignalR().AddStackExchangeRedis(configuration, static o => o.Configuration.ChannelPrefix = RedisChannel.Literal("chat"));
        // Agents' connections are served by their own node, and the agents' feed carries its pushes between nodes
        // (AgentFeedReplica): through SignalR's backplane, one dark agent connection held up its node's other agents.
        // The nodes also tell each other which agents take conversations (AgentPresenceReplica), so any node assigns
        // a conversation to any available agent.
        chat.Services.AddSingleton<HubLifetimeManager<AgentHub>, DefaultHubLifetimeManager<AgentHub>>();
        // Customers' connections too, each node writing a conversation's pushes to its own connections of it, each
        // bounded (CustomerPushReplica): through the backplane a customer connection that took nothing held up, and
        // piled up without a bound, its node's later pushes to that conversation.
        chat.Services.AddSingleton<HubLifetimeManager<CustomerHub>, DefaultHubLifetimeManager<CustomerHub>>();
        if (!chat.Services.Any(static d => d.ServiceType == typeof(RedisLink)))
        {
            chat.Services.AddSingleton<RedisLink>();
            chat.Services.AddHostedService(static sp => sp.GetRequiredService<RedisLink>());
            chat.Services.AddSingleton<AgentFeedReplica>();
            chat.Services.AddSingleton<CustomerPushReplica>();
            // A platform's retry on one node while its original is in the pipeline on another waits for it.
            chat.Services.AddSingleton<InboundClaims>();
            // A platform user's conversation changed or contact erased on one node is forgotten by the others' RecentInboundContacts.
            chat.Services.AddSingleton<RecentInboundContactsReplica>();
            chat.Services.AddHostedService(static sp => sp.GetRequiredService<RecentInboundContactsReplica>());
            chat.Services.AddHostedService<AgentPresenceReplica>();
            // Pushes lost between the nodes while a node's link to Redis was down are caught up by the clients.
            chat.Services.AddSingleton<RedisOutageCatchUp>();
            chat.Services.AddHostedService(static sp => sp.GetRequiredService<RedisOutageCatchUp>());
        }
        return chat;
    }

    private static void ConfigureHub<THub>(HubOptions<THub> hub, ChatHubOptions options)
        where THub : Microsoft.AspNetCore.SignalR.Hub
    {
        hub.MaximumReceiveMessageSize = options.MaxHubMessageBytes;
        hub.EnableDetailedErrors = false;
    }

    /// <summary>A policy of the host's staff in one role (signed in, not a visitor), unless the host added its own with that name.</summary>
    private static void AddStaffPolicy(AuthorizationOptions options, string name, string role)
    {
        if (options.GetPolicy(name) is null)
        {
            options.AddPolicy(name, p => p
                .RequireAuthenticatedUser()
                .RequireAssertion(static c => !c.User.HasClaim(static claim => claim.Type == ChatAuthentication.VisitorCustomerClaim))
                .RequireRole(role));
        }
    }
}
