using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Chat.Storage.Tests.Infrastructure;

/// <summary>A real generic host with the Chat runtime and one store, started (so migrations ran).</summary>
internal sealed class StoreHost : IAsyncDisposable
{
    private readonly IHost _host;

    private StoreHost(IHost host) => _host = host;

    public IServiceProvider Services => _host.Services;

    public IMessageStore Messages => Services.GetRequiredService<IMessageStore>();

    public IConversationStore Conversations => Services.GetRequiredService<IConversationStore>();

    public IWorkerIdLeaseStore Leases => Services.GetRequiredService<IWorkerIdLeaseStore>();

    public IOutboxStore Outbox => Services.GetRequiredService<IOutboxStore>();

    public IAuditLog Audit => Services.GetRequiredService<IAuditLog>();

    public IContactEraser Eraser => Services.GetRequiredService<IContactEraser>();

    public static async Task<StoreHost> StartAsync(Action<IChatBuilder> addStorage, int workerId = 0)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        addStorage(builder.Services.AddChat(options => options.Ids.WorkerId = workerId));
        var host = builder.Build();
        await host.StartAsync();
        return new StoreHost(host);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        if (_host is IAsyncDisposable asyncDisposable)
        {
            await asyncDisposable.DisposeAsync();
        }
        else
        {
            _host.Dispose();
        }
    }
}
