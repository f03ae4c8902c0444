namespace Chat.Storage;

/// <summary>
/// Hands out id-generator worker numbers so that no two live nodes hold the same one.
/// </summary>
public interface IWorkerIdLeaseStore
{
    /// <summary>Takes a free worker number for a node, or one whose lease has expired.</summary>
    /// <param name="nodeName">A name of the node, for operators.</param>
    /// <param name="timeToLive">How long the lease lasts unless renewed.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The lease.</returns>
    ValueTask<WorkerIdLease> AcquireAsync(string nodeName, TimeSpan timeToLive, CancellationToken cancellationToken);

    /// <summary>Extends a lease; false when it was lost (expired and taken by another node).</summary>
    /// <param name="lease">The lease.</param>
    /// <param name="timeToLive">How long from now the lease lasts.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the lease is still held.</returns>
    ValueTask<bool> RenewAsync(WorkerIdLease lease, TimeSpan timeToLive, CancellationToken cancellationToken);

    /// <summary>Gives a lease back.</summary>
    /// <param name="lease">The lease.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the lease is released.</returns>
    ValueTask ReleaseAsync(WorkerIdLease lease, CancellationToken cancellationToken);
}
