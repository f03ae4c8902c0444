using Chat;
using Chat.Runtime;
using Chat.Runtime.Diagnostics;
using Chat.Runtime.Ids;
using Chat.Runtime.Loading;
using Chat.Runtime.Pipeline;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the Chat framework to a host's services.</summary>
public static class ChatServiceCollectionExtensions
{
    /// <summary>
    /// Adds the Chat runtime, bound to a configuration section (usually <c>Chat</c>): options validated at start-up,
    /// the plugin catalog and guarded pipeline, and the id generator.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="configuration">The <c>Chat</c> section; plugin settings are read from its <c>Plugins:&lt;id&gt;</c> children.</param>
    /// <returns>A builder for the other Chat packages' extensions.</returns>
    /// <exception cref="ArgumentNullException">A parameter is null.</exception>
    public static IChatBuilder AddChat(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<ChatOptions>().Bind(configuration);
        return AddChatCore(services, configuration);
    }

    /// <summary>Adds the Chat runtime with default options and no configuration section.</summary>
    /// <param name="services">The host's services.</param>
    /// <returns>A builder for the other Chat packages' extensions.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is null.</exception>
    public static IChatBuilder AddChat(this IServiceCollection services) => services.AddChat(static _ => { });

    /// <summary>Adds the Chat runtime configured in code, with no configuration section.</summary>
    /// <param name="services">The host's services.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>A builder for the other Chat packages' extensions.</returns>
    /// <exception cref="ArgumentNullException">A parameter is null.</exception>
    public static IChatBuilder AddChat(this IServiceCollection services, Action<ChatOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<ChatOptions>().Configure(configure);
        return AddChatCore(services, new ConfigurationBuilder().Build());
    }

    private static ChatBuilder AddChatCore(IServiceCollection services, IConfiguration configuration)
    {
        // A second AddChat adds its configuration to the options but registers nothing twice.
        if (services.Any(static d => d.ServiceType == typeof(ChatConfiguration)))
        {
            return new ChatBuilder(services);
        }

        services.AddOptions<ChatOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ChatOptions>, ChatOptionsValidator>());
        services.AddSingleton(new ChatConfiguration(configuration));
        services.TryAddSingleton(TimeProvider.System);
        services.AddLogging();
        services.AddMetrics();
        services.AddHttpClient();

        services.TryAddSingleton<ChatRuntimeMetrics>();
        services.TryAddSingleton<IIdGenerator, SnowflakeIdGenerator>();
        services.TryAddSingleton<PluginCatalog>();
        services.TryAddSingleton<IPluginCatalog>(static sp => sp.GetRequiredService<PluginCatalog>());
        services.TryAddSingleton<IMessagePipeline, MessagePipeline>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, WorkerIdLeaseService>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ChatRuntimeStartup>());
        services.AddHealthChecks().AddCheck<PluginHealthCheck>(PluginHealthCheck.Name, tags: ["chat"]);
        return new ChatBuilder(services);
    }
}
