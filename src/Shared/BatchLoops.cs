using System.Threading.Channels;

namespace Chat.Storage.Internal;

/// <summary>
/// A queue drained by a fixed number of loops: a loop that is free takes whatever is queued (at most a batch's size,
/// after an optional linger) and hands it to <see cref="ExecuteAsync"/>. The base of the stores' batchers (appends, and
/// PostgreSQL's platform-message look-ups); shared by the storage packages (compiled into each).
/// </summary>
internal abstract class BatchLoops<T> : IAsyncDisposable
{
    private readonly int _maxBatchSize;
    private readonly TimeSpan _linger;
    private readonly Task[] _loops;

    /// <param name="queue">What callers write to.</param>
    /// <param name="maxBatchSize">The most items in one batch.</param>
    /// <param name="linger">How long a batch that is not full waits for more.</param>
    /// <param name="concurrency">How many batches may be in flight at once.</param>
    protected BatchLoops(Channel<T> queue, int maxBatchSize, TimeSpan linger, int concurrency)
    {
        Queue = queue;
        _maxBatchSize = maxBatchSize;
        _linger = linger;
        _loops = new Task[concurrency];
    }

    /// <summary>The queue callers write to; completed at disposal, after which the loops end once it is drained.</summary>
    protected Channel<T> Queue { get; }

    /// <summary>
    /// Queues an item, waiting while the queue is full; once the store is shutting down, throws
    /// <see cref="ChatStorageException"/> with <paramref name="shuttingDown"/> as its message.
    /// </summary>
    protected async ValueTask EnqueueAsync(T item, string shuttingDown, CancellationToken cancellationToken)
    {
        if (Queue.Writer.TryWrite(item))
        {
            return;
        }

        try
        {
            await Queue.Writer.WriteAsync(item, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException ex)
        {
            throw new ChatStorageException(shuttingDown, ex);
        }
    }

    /// <summary>Lets the loops run; called by the derived class once it is set up.</summary>
    protected void Start()
    {
        for (var i = 0; i < _loops.Length; i++)
        {
            _loops[i] = Task.Run(RunAsync);
        }
    }

    /// <summary>Handles one batch (never empty); completes each item's caller, and never throws.</summary>
    protected abstract Task ExecuteAsync(List<T> batch);

    public async ValueTask DisposeAsync()
    {
        Queue.Writer.TryComplete();
        await Task.WhenAll(_loops).ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        var batch = new List<T>(_maxBatchSize);
        var reader = Queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            Drain(reader, batch);
            if (batch.Count < _maxBatchSize && _linger > TimeSpan.Zero)
            {
                await Task.Delay(_linger).ConfigureAwait(false);
                Drain(reader, batch);
            }

            if (batch.Count > 0)
            {
                await ExecuteAsync(batch).ConfigureAwait(false);
            }
        }
    }

    private void Drain(ChannelReader<T> reader, List<T> batch)
    {
        while (batch.Count < _maxBatchSize && reader.TryRead(out var item))
        {
            batch.Add(item);
        }
    }
}
