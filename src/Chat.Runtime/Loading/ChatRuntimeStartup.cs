using Chat.Runtime.Pipeline;
using Microsoft.Extensions.Hosting;

namespace Chat.Runtime.Loading;

/// <summary>Loads the plugins and builds the pipeline while the host starts, so failures show at start-up.</summary>
internal sealed class ChatRuntimeStartup(PluginCatalog catalog, IMessagePipeline pipeline) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        catalog.EnsureLoaded();
        _ = pipeline;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
