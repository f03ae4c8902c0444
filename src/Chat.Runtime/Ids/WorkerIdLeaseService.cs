using Chat.Runtime.Diagnostics;
using Chat.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat.Runtime.Ids;

/// <summary>
/// Leases this node's id-generator worker number from the storage at start-up, renews it every third of its time to
/// live, and gives it back at shutdown. If the lease is lost (the database unreachable for a whole time to live, or
/// taken over), the node stops: two nodes issuing ids with one worker number could issue the same id.
/// </summary>
internal sealed class WorkerIdLeaseService(
    IServiceProvider services,
    IOptions<ChatOptions> options,
    IIdGenerator generator,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<WorkerIdLeaseService> logger) : IHostedService, IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private IWorkerIdLeaseStore? _store;
    private WorkerIdLease? _lease;
    private Task? _renewal;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var ids = options.Value.Ids;
        _store = services.GetService<IWorkerIdLeaseStore>();
        if (!ids.LeaseWorkerId || _store is null || generator is not SnowflakeIdGenerator snowflake)
        {
            return;
        }

        _lease = await _store.AcquireAsync(Environment.MachineName + ":" + Environment.ProcessId, ids.LeaseTimeToLive, cancellationToken).ConfigureAwait(false);
        snowflake.UseLeasedWorkerId(_lease.WorkerId);
        Log.WorkerIdLeased(logger, _lease.WorkerId, _lease.ExpiresAt);
        _renewal = RenewAsync(ids.LeaseTimeToLive, _stopping.Token);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_renewal is not null)
        {
            await _renewal.ConfigureAwait(false);
        }

        if (_lease is not null && _store is not null)
        {
            try
            {
                await _store.ReleaseAsync(_lease, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is ChatStorageException or OperationCanceledException)
            {
                // It lapses by itself.
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        _stopping.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task RenewAsync(TimeSpan timeToLive, CancellationToken stopping)
    {
        var lease = _lease!;
        var deadline = lease.ExpiresAt;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(timeToLive / 3, time, stopping).ConfigureAwait(false);
                if (await _store!.RenewAsync(lease, timeToLive, stopping).ConfigureAwait(false))
                {
                    deadline = time.GetUtcNow() + timeToLive;
                    continue;
                }

                Log.WorkerIdLost(logger, lease.WorkerId);
                lifetime.StopApplication();
                return;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                if (time.GetUtcNow() >= deadline)
                {
                    Log.WorkerIdLost(logger, lease.WorkerId);
                    lifetime.StopApplication();
                    return;
                }

                Log.WorkerIdRenewalFailed(logger, ex, lease.WorkerId, deadline);
            }
        }
    }
}
