using System.Threading.Channels;
using Chat.Storage;

namespace Chat.Storage.Internal;

/// <summary>One append waiting for its batch. <see cref="Completion"/> completes only after the batch commits.</summary>
/// <remarks>Its own completion source (one object fewer for each message a busy store appends).</remarks>
internal sealed class PendingAppend(ChatMessage message, long id, long started)
    : TaskCompletionSource<AppendResult>(TaskCreationOptions.RunContinuationsAsynchronously)
{
    /// <summary>The message as the caller gave it: its <see cref="ChatMessage.Id"/> and <see cref="ChatMessage.Seq"/> are not
    /// the stored ones (<see cref="Id"/>, and the seq its batch gives it), which the stored copy carries.</summary>
    public ChatMessage Message { get; } = message;

    /// <summary>The id the store gave the message, kept beside it rather than in a copy of it.</summary>
    public long Id { get; } = id;

    /// <summary>When the append was called (<see cref="System.Diagnostics.Stopwatch"/> ticks), or zero when not timed.</summary>
    public long Started { get; } = started;

    public TaskCompletionSource<AppendResult> Completion => this;

    /// <summary>Retries of this append that arrived in the same batch; they get its result as duplicates.</summary>
    public List<PendingAppend>? Followers { get; set; }
}

/// <summary>
/// Coalesces concurrent appends into batches: one store round trip per batch, bounded by a batch size and a linger,
/// with a fixed number of batches in flight (<see cref="BatchLoops{T}"/>). Shared by the storage packages (compiled into each).
/// </summary>
/// <remarks>
/// Appends of one batch that repeat each other (same conversation and client message id, or same channel and platform
/// message id) are sent once; the repeats are answered with the first one's result, marked as duplicates.
/// </remarks>
internal sealed class AppendBatcher : BatchLoops<PendingAppend>
{
    private readonly Func<IReadOnlyList<PendingAppend>, CancellationToken, Task> _execute;
    private readonly StorageMetrics _metrics;

    /// <param name="execute">Stores a batch of distinct appends and completes each one's <see cref="PendingAppend.Completion"/>;
    /// throws when the whole batch failed.</param>
    /// <param name="maxBatchSize">The most appends in one batch.</param>
    /// <param name="linger">How long a batch that is not full waits for more.</param>
    /// <param name="concurrency">How many batches may be in flight at once.</param>
    /// <param name="capacity">How many appends may wait before callers are held back.</param>
    /// <param name="metrics">The write path's instruments.</param>
    public AppendBatcher(Func<IReadOnlyList<PendingAppend>, CancellationToken, Task> execute, int maxBatchSize, TimeSpan linger, int concurrency, int capacity,
        StorageMetrics metrics)
        : base(Channel.CreateBounded<PendingAppend>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = concurrency == 1,
            SingleWriter = false,
        }), maxBatchSize, linger, concurrency)
    {
        _execute = execute;
        _metrics = metrics;
        Start();
    }

    /// <summary>
    /// Validates a message and queues it with a new id (its seq comes with its batch); the task completes once the batch
    /// has committed (or failed). A bad message fails the task, as from an async method, and nothing is queued.
    /// </summary>
    /// <remarks>Not an async method in the usual case, where the queue has room: each append of a busy store would
    /// otherwise pay for a state machine of its own.</remarks>
    public ValueTask<AppendResult> AppendAsync(ChatMessage message, IIdGenerator ids, CancellationToken cancellationToken)
    {
        try
        {
            MessageValidation.Validate(message);
        }
        catch (ArgumentException ex)
        {
            return ValueTask.FromException<AppendResult>(ex);
        }

        var pending = new PendingAppend(message, ids.NextId(), _metrics.Start());
        var queued = EnqueueAsync(pending, "The message store is shutting down; the message was not stored.", cancellationToken);

        // Cancelling stops the wait only: a message already queued may still be stored, and a retry dedupes it.
        return new ValueTask<AppendResult>(queued.IsCompletedSuccessfully ? pending.Completion.Task.WaitAsync(cancellationToken) : AppendWhenQueuedAsync(queued, pending, cancellationToken));
    }

    private static async Task<AppendResult> AppendWhenQueuedAsync(ValueTask queued, PendingAppend pending, CancellationToken cancellationToken)
    {
        await queued.ConfigureAwait(false);
        return await pending.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(List<PendingAppend> batch)
    {
        var distinct = Coalesce(batch);
        try
        {
            // Not cancelled at shutdown: the queued appends are written (or fail) before the store is disposed.
            await _execute(distinct, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            var error = ex as ChatStorageException
                ?? new ChatStorageException($"The message store could not write a batch of {batch.Count} message(s); none of them is acknowledged: {ex.Message}", ex);
            foreach (var pending in batch)
            {
                pending.Completion.TrySetException(error);
            }

            _metrics.Record(batch, distinct.Count);
            return;
        }

        foreach (var leader in distinct)
        {
            if (leader.Followers is null)
            {
                continue;
            }

            if (leader.Completion.Task.IsCompletedSuccessfully)
            {
                var stored = leader.Completion.Task.Result.Message;
                foreach (var follower in leader.Followers)
                {
                    follower.Completion.TrySetResult(new AppendResult(stored, IsDuplicate: true));
                }
            }
            else
            {
                foreach (var follower in leader.Followers)
                {
                    follower.Completion.TrySetException(leader.Completion.Task.Exception?.GetBaseException()
                        ?? new ChatStorageException("The repeated message was not stored."));
                }
            }
        }

        _metrics.Record(batch, distinct.Count);
    }

    // Coalesce's look-ups, one pair per thread (it does not await), emptied after each batch: a busy store writes
    // hundreds of batches a second, and each would otherwise fill a dictionary of its own.
    [ThreadStatic]
    private static Dictionary<(string, long, string), PendingAppend>? t_byClientId;

    [ThreadStatic]
    private static Dictionary<(string, string, string), PendingAppend>? t_byPlatformId;

    private static List<PendingAppend> Coalesce(List<PendingAppend> batch)
    {
        var byClientId = t_byClientId ??= [];
        var byPlatformId = t_byPlatformId ??= [];
        List<PendingAppend>? distinct = null; // made at the first repeat: until then the batch is its own distinct list
        try
        {
            for (var i = 0; i < batch.Count; i++)
            {
                var pending = batch[i];
                var m = pending.Message;
                PendingAppend? leader = null;
                if (m.ClientMessageId is { } clientId && !byClientId.TryAdd((m.TenantId, m.ConversationId, clientId), pending))
                {
                    leader = byClientId[(m.TenantId, m.ConversationId, clientId)];
                }

                if (leader is null && m.PlatformMessageId is { } platformId && !byPlatformId.TryAdd((m.TenantId, m.ChannelId, platformId), pending))
                {
                    leader = byPlatformId[(m.TenantId, m.ChannelId, platformId)];
                    if (m.ClientMessageId is { } ownClientId)
                    {
                        byClientId[(m.TenantId, m.ConversationId, ownClientId)] = leader;
                    }
                }

                if (leader is null)
                {
                    distinct?.Add(pending);
                }
                else
                {
                    distinct ??= batch.GetRange(0, i);
                    (leader.Followers ??= []).Add(pending);
                }
            }

            return distinct ?? batch;
        }
        finally
        {
            byClientId.Clear();
            byPlatformId.Clear();
        }
    }
}
