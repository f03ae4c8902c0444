using Chat.Runtime.Diagnostics;
using Chat.Runtime.Pipeline;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Chat.Runtime.Loading;

/// <summary>
/// Loads the plugins and builds the pipeline while the host starts, so failures show at start-up; then starts the
/// background services plugins registered in their own containers, and stops them with the host. A plugin's
/// background service that throws is logged and does not stop the host.
/// </summary>
internal sealed class ChatRuntimeStartup(PluginCatalog catalog, IMessagePipeline pipeline, ILogger<ChatRuntimeStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        catalog.EnsureLoaded();
        _ = pipeline;
        foreach (var (pluginId, service) in catalog.BackgroundServices)
        {
            try
            {
                await service.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Log.PluginBackgroundFailed(logger, ex, pluginId, "start");
            }
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var (pluginId, service) in catalog.BackgroundServices.Reverse())
        {
            try
            {
                await service.StopAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.PluginBackgroundFailed(logger, ex, pluginId, "stop");
            }
        }
    }
}
