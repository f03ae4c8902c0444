using Microsoft.Extensions.Options;

namespace Chat.Runtime.Ids;

/// <summary>
/// 64-bit time-ordered ids: 41 bits of milliseconds since <see cref="Epoch"/>, 10 bits of worker number and
/// 12 bits of sequence within the millisecond (4,096 ids per millisecond per worker). Lock-free and safe under
/// concurrency. When the clock steps back by up to <see cref="IdGeneratorOptions.MaxClockStepBack"/> it waits
/// for the clock to catch up; a larger step back fails with <see cref="InvalidOperationException"/>.
/// </summary>
internal sealed class SnowflakeIdGenerator : IIdGenerator
{
    public const int WorkerBits = 10;
    public const int SequenceBits = 12;
    public const long MaxSequence = (1L << SequenceBits) - 1;
    public const long MaxTimestamp = (1L << 41) - 1;

    /// <summary>2025-01-01T00:00:00Z: ids run out 69 years later, in 2094.</summary>
    public static readonly DateTimeOffset Epoch = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly TimeProvider _time;
    private readonly long _maxStepBackMs;
    private long _workerBits;
    private volatile bool _waitingForLease;

    /// <summary>The last issued (milliseconds &lt;&lt; 12 | sequence).</summary>
    private long _state;

    public SnowflakeIdGenerator(IOptions<ChatOptions> options, TimeProvider time, IEnumerable<Chat.Storage.IWorkerIdLeaseStore> leaseStores)
        : this(options.Value.Ids.WorkerId, options.Value.Ids.MaxClockStepBack, time)
    {
        // With a lease store, the worker number comes from the database at start-up (WorkerIdLeaseService).
        _waitingForLease = options.Value.Ids.LeaseWorkerId && leaseStores.Any();
    }

    public SnowflakeIdGenerator(int workerId, TimeSpan maxClockStepBack, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(workerId);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(workerId, IdGeneratorOptions.MaxWorkerId);
        WorkerId = workerId;
        _workerBits = (long)workerId << SequenceBits;
        _maxStepBackMs = (long)maxClockStepBack.TotalMilliseconds;
        _time = time;
    }

    public int WorkerId { get; private set; }

    /// <summary>Takes the worker number leased from the database.</summary>
    internal void UseLeasedWorkerId(int workerId)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(workerId);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(workerId, IdGeneratorOptions.MaxWorkerId);
        WorkerId = workerId;
        Volatile.Write(ref _workerBits, (long)workerId << SequenceBits);
        _waitingForLease = false;
    }

    public long NextId()
    {
        if (_waitingForLease)
        {
            throw new InvalidOperationException(
                "No id-generator worker number is leased yet: ids are available once the host has started (Chat:Ids:LeaseWorkerId).");
        }

        var spinner = default(SpinWait);
        while (true)
        {
            var now = CurrentMilliseconds();
            var last = Volatile.Read(ref _state);
            var lastMs = last >> SequenceBits;
            long next;
            if (now > lastMs)
            {
                next = now << SequenceBits;
            }
            else if (now == lastMs && (last & MaxSequence) < MaxSequence)
            {
                next = last + 1;
            }
            else if (lastMs - now > _maxStepBackMs)
            {
                throw new InvalidOperationException(
                    $"The system clock moved back by {lastMs - now} ms, more than Chat:Ids:MaxClockStepBack " +
                    $"({_maxStepBackMs} ms). Ids would no longer be time-ordered; fix the clock (NTP slewing) or restart the node.");
            }
            else
            {
                // This millisecond's 4,096 ids are used up, or the clock stepped back a little: wait it out.
                spinner.SpinOnce(sleep1Threshold: 20);
                continue;
            }

            if (Interlocked.CompareExchange(ref _state, next, last) == last)
            {
                return ((next >> SequenceBits) << (WorkerBits + SequenceBits)) | _workerBits | (next & MaxSequence);
            }
        }
    }

    /// <summary>Splits an id into its parts.</summary>
    public static (DateTimeOffset Timestamp, int WorkerId, int Sequence) Decode(long id) =>
        (Epoch.AddMilliseconds(id >> (WorkerBits + SequenceBits)),
         (int)((id >> SequenceBits) & IdGeneratorOptions.MaxWorkerId),
         (int)(id & MaxSequence));

    private long CurrentMilliseconds()
    {
        var ms = (long)(_time.GetUtcNow() - Epoch).TotalMilliseconds;
        if (ms is < 0 or > MaxTimestamp)
        {
            throw new InvalidOperationException($"The system clock ({_time.GetUtcNow():O}) is outside the id generator's range (2025 to 2094).");
        }

        return ms;
    }
}
