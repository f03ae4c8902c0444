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

    /// <summary>
    /// The leases that lapsed without being released: their nodes stopped without shutting down (a crash, a kill, a
    /// lost machine), perhaps between a message's commit and its push. A lapsed lease stays listed until
    /// <see cref="ForgetLapsedAsync"/> removes it; <see cref="AcquireAsync"/> takes a lapsed number last, so the nodes
    /// that outlive it see it first. Reads the primary. The default lists none (a store that cannot tell).
    /// </summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The lapsed leases, oldest first.</returns>
    ValueTask<IReadOnlyList<WorkerIdLease>> ListLapsedAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<WorkerIdLease>>([]);

    /// <summary>Removes a lapsed lease once what its node left behind has been seen to.</summary>
    /// <param name="lapsed">A lease from <see cref="ListLapsedAsync"/>.</param>
    /// <param name="lapsedFor">How long the lease must have lapsed for (by the store's clock), so that every live node has seen it.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>True for the one call that removed it; false when it is gone, renewed, taken again or lapsed for less.</returns>
    ValueTask<bool> ForgetLapsedAsync(WorkerIdLease lapsed, TimeSpan lapsedFor, CancellationToken cancellationToken) => ValueTask.FromResult(false);
}
