using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Reflection;
using Chat.Plugins;
using Chat.Runtime.Diagnostics;
using Chat.Runtime.Pipeline;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Chat.Runtime.Loading;

/// <summary>
/// Finds, loads and composes every plugin once, at start-up: compiled-in plugins first, then each folder under the
/// plugin directory in name order. Each folder plugin gets its own load context and its own service provider;
/// only its contract implementations reach the host, channel plugins wrapped in a <see cref="PluginGuard"/>.
/// </summary>
internal sealed class PluginCatalog : IPluginCatalog, IDisposable
{
    /// <summary>The contracts a plugin may implement; the only types bridged from a plugin into the host.</summary>
    internal static readonly Type[] ContractTypes =
        [typeof(IChannelPlugin), typeof(IWebhookHandler), typeof(IChannelSender), typeof(ICustomerContextProvider)];

    private readonly IServiceProvider _hostServices;
    private readonly ChatOptions _options;
    private readonly ChatConfiguration _configuration;
    private readonly IReadOnlyList<InHostPluginRegistration> _inHost;
    private readonly bool _discoverFolders;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly ChatRuntimeMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly Lazy<LoadedState> _state;
    private readonly ConcurrentDictionary<Type, object> _servicesByType = new();

    public PluginCatalog(
        IServiceProvider hostServices,
        IOptions<ChatOptions> options,
        ChatConfiguration configuration,
        IEnumerable<InHostPluginRegistration> inHost,
        IEnumerable<PluginFolderDiscovery> folderDiscovery,
        ILoggerFactory loggerFactory,
        ChatRuntimeMetrics metrics,
        TimeProvider time)
    {
        _hostServices = hostServices;
        _options = options.Value;
        _configuration = configuration;
        _inHost = inHost.ToArray();
        _discoverFolders = folderDiscovery.Any();
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<PluginCatalog>();
        _metrics = metrics;
        _time = time;
        _state = new Lazy<LoadedState>(Load, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public IReadOnlyList<PluginInfo> Plugins => _state.Value.Infos;

    /// <summary>The guarded channel plugins of every active plugin, in pipeline order.</summary>
    internal IReadOnlyList<IChannelPlugin> PipelinePlugins => GetServices<IChannelPlugin>();

    /// <summary>The absolute plugin directory.</summary>
    internal string PluginDirectory => Path.GetFullPath(_options.PluginHost.Directory, AppContext.BaseDirectory);

    public IReadOnlyList<T> GetServices<T>()
        where T : class =>
        (IReadOnlyList<T>)_servicesByType.GetOrAdd(typeof(T), static (_, state) => Collect<T>(state), _state.Value);

    /// <summary>The background services of every active plugin folder, with their plugin ids, in load order.</summary>
    internal IReadOnlyList<(string PluginId, IHostedService Service)> BackgroundServices => _state.Value.Loaded.SelectMany(static p => p.Background).ToArray();

    /// <summary>Loads everything now (at start-up) rather than on first use.</summary>
    public void EnsureLoaded() => _ = _state.Value;

    public void Dispose()
    {
        if (_state.IsValueCreated)
        {
            foreach (var plugin in _state.Value.Loaded)
            {
                plugin.Dispose();
            }
        }
    }

    private static T[] Collect<T>(LoadedState state)
        where T : class
    {
        var found = new List<(int Priority, string Id, int Index, T Service)>();
        foreach (var plugin in state.Loaded)
        {
            for (var i = 0; i < plugin.Contracts.Count; i++)
            {
                var (contract, instance) = plugin.Contracts[i];
                if (contract == typeof(T))
                {
                    var service = (T)instance;
                    found.Add((service is IChannelPlugin channel ? channel.Priority : 0, plugin.Info.Id, i, service));
                }
            }
        }

        // Higher priority first; ties broken by plugin id, then by the order the plugin registered them.
        found.Sort(static (a, b) =>
        {
            var c = b.Priority.CompareTo(a.Priority);
            if (c == 0)
            {
                c = string.CompareOrdinal(a.Id, b.Id);
            }

            return c != 0 ? c : a.Index.CompareTo(b.Index);
        });
        return found.ConvertAll(static f => f.Service).ToArray();
    }

    private LoadedState Load()
    {
        var loaded = new List<LoadedPlugin>();
        var infos = new List<PluginInfo>();
        var ids = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

        foreach (var registration in _inHost)
        {
            Record(LoadInHost(registration, ids));
        }

        if (_discoverFolders)
        {
            var directory = PluginDirectory;
            if (!Directory.Exists(directory))
            {
                Log.PluginDirectoryMissing(_logger, directory);
            }
            else
            {
                foreach (var folder in Directory.GetDirectories(directory).Order(StringComparer.Ordinal))
                {
                    Record(LoadFolder(folder, ids));
                }
            }
        }

        var state = new LoadedState(loaded, infos);
        var unusable = infos.Where(static i => i.Status is PluginStatus.Faulted or PluginStatus.Incompatible).ToList();
        if (_options.PluginHost.FailFast && unusable.Count > 0)
        {
            foreach (var plugin in loaded)
            {
                plugin.Dispose();
            }

            throw new PluginLoadException(
                "Plugins failed to load and Chat:PluginHost:FailFast is set: " +
                string.Join("; ", unusable.Select(static i => $"{i.Id} is {i.Status}: {i.Reason}")));
        }

        return state;

        void Record(LoadedPlugin plugin)
        {
            infos.Add(plugin.Info);
            if (plugin.Info.Status == PluginStatus.Active)
            {
                loaded.Add(plugin);
            }
            else
            {
                plugin.Dispose();
            }

            LogStatus(plugin.Info);
        }
    }

    private LoadedPlugin LoadInHost(InHostPluginRegistration registration, HashSet<string> ids)
    {
        var info = new PluginInfo { Id = registration.Id, Version = registration.Type.Assembly.GetName().Version?.ToString() };
        if (!ids.Add(registration.Id))
        {
            return LoadedPlugin.Failed(info with { Status = PluginStatus.Faulted, Reason = $"another plugin already has the id '{registration.Id}'" });
        }

        try
        {
            var instance = ActivatorUtilities.GetServiceOrCreateInstance(_hostServices, registration.Type);
            var contracts = new List<(Type, object)>();
            foreach (var contract in ContractTypes)
            {
                if (contract.IsInstanceOfType(instance))
                {
                    contracts.Add((contract, contract == typeof(IChannelPlugin) ? CreateGuard(registration.Id, (IChannelPlugin)instance) : instance));
                }
            }

            return contracts.Count == 0
                ? LoadedPlugin.Failed(info with { Status = PluginStatus.Faulted, Reason = $"{registration.Type.FullName} implements none of the plugin contracts" })
                : new LoadedPlugin(info with { Status = PluginStatus.Active }, contracts, owner: null);
        }
        catch (Exception ex) when (!IsCritical(ex))
        {
            return LoadedPlugin.Failed(info with { Status = PluginStatus.Faulted, Reason = Describe(ex) });
        }
    }

    private LoadedPlugin LoadFolder(string folder, HashSet<string> ids)
    {
        var info = new PluginInfo { Id = Path.GetFileName(folder), Directory = folder, Status = PluginStatus.Faulted };
        var manifestPath = Path.Combine(folder, PluginManifest.FileName);
        if (!File.Exists(manifestPath))
        {
            return LoadedPlugin.Failed(info with { Reason = $"the folder has no {PluginManifest.FileName}" });
        }

        PluginManifest manifest;
        try
        {
            manifest = PluginManifest.Load(manifestPath);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            return LoadedPlugin.Failed(info with { Reason = ex.Message });
        }

        var id = manifest.Id!;
        info = info with { Id = id, Version = manifest.Version, HostApi = manifest.HostApi };
        if (!ids.Add(id))
        {
            return LoadedPlugin.Failed(info with { Reason = $"another plugin already has the id '{id}'" });
        }

        if (!manifest.Enabled)
        {
            return LoadedPlugin.Failed(info with { Status = PluginStatus.Disabled, Reason = $"disabled in {PluginManifest.FileName}" });
        }

        if (!HostApiRange.TryParse(manifest.HostApi, out var range))
        {
            return LoadedPlugin.Failed(info with
            {
                Status = PluginStatus.Incompatible,
                Reason = manifest.HostApi is null
                    ? $"{PluginManifest.FileName} names no 'hostApi' range"
                    : $"{PluginManifest.FileName} 'hostApi' \"{manifest.HostApi}\" is not a version range",
            });
        }

        if (!range.Includes(HostApi.Version))
        {
            return LoadedPlugin.Failed(info with
            {
                Status = PluginStatus.Incompatible,
                Reason = $"built for host API {range}; this host provides {HostApi.Version}",
            });
        }

        var assemblyPath = Path.Combine(folder, manifest.Assembly!);
        if (!File.Exists(assemblyPath))
        {
            return LoadedPlugin.Failed(info with { Reason = $"the assembly '{manifest.Assembly}' named in {PluginManifest.FileName} is missing" });
        }

        PluginAssemblyLoader? loader = null;
        ServiceProvider? provider = null;
        try
        {
            loader = new PluginAssemblyLoader(assemblyPath);
            var assembly = loader.LoadDefaultAssembly();
            var types = assembly.GetTypes(); // eager: a missing dependency shows now, not at the first message
            provider = Compose(id, folder, assembly, types);
            var contracts = new List<(Type, object)>();
            foreach (var contract in ContractTypes)
            {
                foreach (var service in provider.GetServices(contract))
                {
                    contracts.Add((contract, service!));
                }
            }

            if (contracts.Count == 0)
            {
                throw new InvalidOperationException($"{assembly.GetName().Name} implements none of the plugin contracts");
            }

            var background = provider.GetServices<IHostedService>().Select(service => (id, service)).ToArray();
            return new LoadedPlugin(info with { Status = PluginStatus.Active }, contracts, new CompositeDisposable(provider, loader), background);
        }
        catch (Exception ex) when (!IsCritical(ex))
        {
            provider?.Dispose();
            loader?.Dispose();
            return LoadedPlugin.Failed(info with { Reason = Describe(ex) });
        }
    }

    private ServiceProvider Compose(string id, string folder, Assembly assembly, Type[] types)
    {
        var section = _configuration.GetPluginSection(id);
        var services = new ServiceCollection();

        // What the host lends every plugin. Registered first, so a plugin's own AddLogging() etc. do not replace them.
        services.AddSingleton(_loggerFactory);
        services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        services.AddSingleton(_time);
        services.AddSingleton<IConfiguration>(section);
        services.AddOptions();
        if (_hostServices.GetService<IMeterFactory>() is { } meterFactory)
        {
            services.AddSingleton(meterFactory);
        }

        if (_hostServices.GetService<IHostEnvironment>() is { } environment)
        {
            services.AddSingleton(environment);
        }

        var context = new PluginStartupContext(id, folder, section);
        foreach (var type in types)
        {
            if (type is { IsClass: true, IsAbstract: false } && typeof(IPluginStartup).IsAssignableFrom(type))
            {
                ((IPluginStartup)Activator.CreateInstance(type)!).ConfigureServices(context, services);
            }
        }

        // The host's HTTP client factory, unless the plugin set up its own (typed or named clients).
        if (_hostServices.GetService<IHttpClientFactory>() is { } httpClientFactory)
        {
            services.TryAddSingleton(httpClientFactory);
        }

        // Scan this plugin's assembly only, never the dependency context.
        services.Scan(scan => scan
            .FromAssemblies(assembly)
            .AddClasses(classes => classes.AssignableToAny(ContractTypes), publicOnly: false)
            .UsingRegistrationStrategy(Scrutor.RegistrationStrategy.Skip)
            .AsSelfWithInterfaces(static i => Array.IndexOf(ContractTypes, i) >= 0)
            .WithSingletonLifetime());
        services.TryDecorate<IChannelPlugin>((inner, _) => CreateGuard(id, inner));

        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    private PluginGuard CreateGuard(string pluginId, IChannelPlugin inner) =>
        new(inner, pluginId, _options.PluginHost.GetTimeBudget(pluginId), _options.PluginHost.BreakerFailureThreshold,
            _options.PluginHost.BreakDuration, _time, _loggerFactory.CreateLogger<PluginGuard>(), _metrics);

    private void LogStatus(PluginInfo info)
    {
        var source = info.Directory ?? "compiled into the host";
        switch (info.Status)
        {
            case PluginStatus.Active:
                Log.PluginActive(_logger, info.Id, info.Version, source);
                break;
            case PluginStatus.Disabled:
                Log.PluginDisabled(_logger, info.Id, info.Version, info.Reason, source);
                break;
            case PluginStatus.Incompatible:
                Log.PluginIncompatible(_logger, info.Id, info.Version, info.Reason, source);
                break;
            default:
                Log.PluginFaulted(_logger, info.Id, info.Version, info.Reason, source);
                break;
        }
    }

    private static string Describe(Exception ex)
    {
        if (ex is TargetInvocationException { InnerException: { } inner })
        {
            ex = inner;
        }

        if (ex is ReflectionTypeLoadException typeLoad)
        {
            var causes = typeLoad.LoaderExceptions.Where(static e => e is not null).Select(static e => e!.Message).Distinct().Take(3);
            return "types could not be loaded: " + string.Join(" | ", causes);
        }

        return $"{ex.GetType().Name}: {ex.Message}";
    }

    private static bool IsCritical(Exception ex) => ex is OutOfMemoryException or StackOverflowException or AccessViolationException;

    private sealed record LoadedState(IReadOnlyList<LoadedPlugin> Loaded, IReadOnlyList<PluginInfo> Infos);

    private sealed class LoadedPlugin(PluginInfo info, IReadOnlyList<(Type Contract, object Service)> contracts, IDisposable? owner,
        IReadOnlyList<(string PluginId, IHostedService Service)>? background = null) : IDisposable
    {
        public PluginInfo Info { get; } = info;

        /// <summary>The background services the plugin registered in its own container (cache pre-warming, polling).</summary>
        public IReadOnlyList<(string PluginId, IHostedService Service)> Background { get; } = background ?? [];

        /// <summary>Each contract implementation, with the contract it was registered as.</summary>
        public IReadOnlyList<(Type Contract, object Service)> Contracts { get; } = contracts;

        public static LoadedPlugin Failed(PluginInfo info) => new(info, [], owner: null);

        public void Dispose() => owner?.Dispose();
    }

    private sealed class CompositeDisposable(params IDisposable[] parts) : IDisposable
    {
        public void Dispose()
        {
            foreach (var part in parts)
            {
                part.Dispose();
            }
        }
    }
}
