using Chat.Internal;

namespace Chat.LoadTest;

/// <summary>
/// Latencies counted in fixed buckets, made once before the traffic: recording one allocates nothing, so measuring does
/// not make the load process collect garbage (a queue of every latency grew through the run, and its large segments
/// brought on collections that paused the process, and every message in flight through it, for 25 to 100 ms).
/// Buckets of 10 µs up to 1 s, then of 1 ms up to 2 minutes; a percentile is read as its bucket's upper edge, the
/// maximum exactly.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int FineBuckets = 100_000; // 10 µs each: up to 1 s
    private const int CoarseBuckets = 119_000; // 1 ms each: from 1 s up to 120 s
    private readonly long[] _counts = new long[FineBuckets + CoarseBuckets + 1]; // the last one: beyond 120 s
    private long _count;
    private long _maxMicros;

    public long Count => Interlocked.Read(ref _count);

    public double MaxMs => Interlocked.Read(ref _maxMicros) / 1000.0;

    public void Record(double milliseconds)
    {
        var micros = (long)(Math.Max(0, milliseconds) * 1000);
        var bucket = micros < FineBuckets * 10L ? micros / 10 : Math.Min(FineBuckets + ((micros - (FineBuckets * 10L)) / 1000), _counts.Length - 1);
        Interlocked.Increment(ref _counts[bucket]);
        Interlocked.Increment(ref _count);
        AtomicMax.Raise(ref _maxMicros, micros);
    }

    /// <summary>The latency below which a share <paramref name="p"/> of those recorded fall, in milliseconds; zero when none were.</summary>
    public double Percentile(double p)
    {
        var total = Count;
        if (total == 0)
        {
            return 0;
        }

        var rank = Math.Min(total - 1, (long)(p * total)); // as the sorted array's index before
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += Interlocked.Read(ref _counts[i]);
            if (seen > rank)
            {
                var upper = i < FineBuckets ? (i + 1) * 0.01 : 1000.0 + (i - FineBuckets + 1);
                return Math.Min(upper, MaxMs);
            }
        }

        return MaxMs;
    }
}
