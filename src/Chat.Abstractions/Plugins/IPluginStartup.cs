using Microsoft.Extensions.DependencyInjection;

namespace Chat.Plugins;

/// <summary>
/// Lets a plugin register its own services in its own service provider, and bind its options from the
/// <c>Chat:Plugins:&lt;id&gt;</c> configuration section.
/// </summary>
/// <remarks>
/// A plugin's service provider holds the host's logging, <see cref="TimeProvider"/> and HTTP client factory,
/// and the plugin's own configuration section as <c>IConfiguration</c>. What a plugin registers there stays
/// there: it cannot replace the host's services. Only its contract implementations reach the host, and the host runs the
/// <c>IHostedService</c>s it registers (cache pre-warming, polling) with its own start and stop.
/// The class needs a public parameterless constructor.
/// </remarks>
public interface IPluginStartup
{
    /// <summary>Registers the plugin's services.</summary>
    /// <param name="context">The plugin's id, folder and configuration section.</param>
    /// <param name="services">The plugin's own service collection.</param>
    void ConfigureServices(PluginStartupContext context, IServiceCollection services);
}
