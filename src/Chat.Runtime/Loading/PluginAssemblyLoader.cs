using System.Diagnostics.Metrics;
using System.Reflection;
using Chat.Plugins;
using McMaster.NETCore.Plugins;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat.Runtime.Loading;

/// <summary>
/// Loads one plugin assembly into its own load context. The only class that knows McMaster.NETCore.Plugins,
/// so the loader can be replaced without touching the rest of the runtime.
/// </summary>
internal sealed class PluginAssemblyLoader : IDisposable
{
    /// <summary>
    /// Types whose assemblies (and, transitively, the assemblies those reference) come from the host: the contracts
    /// and the Microsoft.Extensions abstractions that cross the boundary. Everything else a plugin ships is private.
    /// </summary>
    private static readonly Type[] SharedTypes =
    [
        typeof(IChannelPlugin),
        typeof(IServiceCollection),
        typeof(ILogger),
        typeof(IConfiguration),
        typeof(IOptions<>),
        typeof(IHttpClientFactory),
        typeof(IHostEnvironment),
        typeof(IMeterFactory),
    ];

    private readonly PluginLoader _loader;

    public PluginAssemblyLoader(string assemblyPath)
    {
        _loader = PluginLoader.CreateFromAssemblyFile(
            assemblyPath,
            SharedTypes,
            static config =>
            {
                config.PreferSharedTypes = false;
                config.IsUnloadable = false;
            });
    }

    public Assembly LoadDefaultAssembly() => _loader.LoadDefaultAssembly();

    public void Dispose() => _loader.Dispose();
}
