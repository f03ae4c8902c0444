using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Chat.Plugins.Jushuitan;

/// <summary>Binds the options, and registers the ERP source, the cache and (when enabled) pre-warming.</summary>
internal sealed class JushuitanStartup : IPluginStartup
{
    public void ConfigureServices(PluginStartupContext context, IServiceCollection services)
    {
        services.Configure<JushuitanOptions>(context.Configuration);
        services.AddHybridCache();
        services.AddSingleton<JushuitanClient>();
        services.TryAddSingleton<IErpOrderSource, JushuitanOrderSource>();
        services.AddSingleton<ErpOrders>();
        services.AddSingleton<IHostedService, PrewarmService>();
    }
}

/// <summary>Loads the recently modified orders into the cache at start-up, in the background, when enabled.</summary>
internal sealed partial class PrewarmService(IErpOrderSource source, ErpOrders orders, IOptions<JushuitanOptions> options, TimeProvider time,
    Microsoft.Extensions.Logging.ILogger<PrewarmService> logger) : BackgroundService
{
    /// <summary>Completes when pre-warming ends: the number of orders loaded, 0 when off, -1 when it failed.</summary>
    public Task<int> Completion => _done.Task;

    private readonly TaskCompletionSource<int> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (!o.PrewarmRecentOrders)
        {
            _done.TrySetResult(0);
            return;
        }

        try
        {
            var now = time.GetUtcNow();
            var recent = await source.GetModifiedOrdersAsync(now - o.PrewarmWindow, now, o.PrewarmMaxOrders, stoppingToken).ConfigureAwait(false);
            foreach (var order in recent)
            {
                await orders.PutAsync(order, stoppingToken).ConfigureAwait(false);
            }

            LogPrewarmed(logger, recent.Count);
            _done.TrySetResult(recent.Count);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            LogPrewarmFailed(logger, ex);
            _done.TrySetResult(-1);
        }
    }

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 1, Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "Pre-warmed {Count} recent orders from the ERP")]
    private static partial void LogPrewarmed(Microsoft.Extensions.Logging.ILogger logger, int count);

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 2, Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "Could not pre-warm recent orders; lookups go to the ERP")]
    private static partial void LogPrewarmFailed(Microsoft.Extensions.Logging.ILogger logger, Exception exception);
}
