using Chat.Runtime;
using Chat.Runtime.Loading;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds plugins to the Chat runtime.</summary>
public static class ChatBuilderPluginExtensions
{
    /// <summary>
    /// Loads every plugin folder under <see cref="PluginHostOptions.Directory"/> (default <c>plugins/</c> beside the
    /// host) at start-up, each into its own load context.
    /// </summary>
    /// <param name="builder">The Chat builder.</param>
    /// <param name="configure">Changes the plugin host options after configuration is bound; may be null.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static IChatBuilder AddPlugins(this IChatBuilder builder, Action<PluginHostOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton(PluginFolderDiscovery.Instance);
        if (configure is not null)
        {
            builder.Services.PostConfigure<ChatOptions>(options => configure(options.PluginHost));
        }

        return builder;
    }

    /// <summary>
    /// Adds a plugin compiled into the host. The type may implement any of the plugin contracts
    /// (<c>IChannelPlugin</c>, <c>IWebhookHandler</c>, <c>IChannelSender</c>, <c>ICustomerContextProvider</c>);
    /// it is created from the host's services and guarded like a plugin loaded from a folder.
    /// </summary>
    /// <typeparam name="TPlugin">The plugin type.</typeparam>
    /// <param name="builder">The Chat builder.</param>
    /// <param name="id">The plugin id; default the type's name.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static IChatBuilder AddPlugin<TPlugin>(this IChatBuilder builder, string? id = null)
        where TPlugin : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton(new InHostPluginRegistration(id ?? typeof(TPlugin).Name, typeof(TPlugin)));
        return builder;
    }
}
