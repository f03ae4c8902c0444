using Microsoft.Extensions.Configuration;

namespace Chat.Plugins;

/// <summary>What a plugin is told about itself when it registers its services.</summary>
public sealed class PluginStartupContext
{
    /// <summary>Creates the context.</summary>
    /// <param name="pluginId">The plugin id from its manifest.</param>
    /// <param name="pluginDirectory">The plugin's folder, or null for a plugin compiled into the host.</param>
    /// <param name="configuration">The plugin's configuration section, <c>Chat:Plugins:&lt;id&gt;</c>.</param>
    /// <exception cref="ArgumentNullException">A required parameter is null.</exception>
    public PluginStartupContext(string pluginId, string? pluginDirectory, IConfiguration configuration)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pluginId);
        ArgumentNullException.ThrowIfNull(configuration);
        PluginId = pluginId;
        PluginDirectory = pluginDirectory;
        Configuration = configuration;
    }

    /// <summary>The plugin id from its manifest.</summary>
    public string PluginId { get; }

    /// <summary>The plugin's folder, or null for a plugin compiled into the host.</summary>
    public string? PluginDirectory { get; }

    /// <summary>The plugin's configuration section, <c>Chat:Plugins:&lt;id&gt;</c>; empty when the host has none.</summary>
    public IConfiguration Configuration { get; }
}
