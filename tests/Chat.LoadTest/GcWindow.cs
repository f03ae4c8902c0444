using System.Diagnostics;
using System.Globalization;

namespace Chat.LoadTest;

/// <summary>What a process's garbage collector did in the measured window.</summary>
/// <param name="PauseMs">How long it paused the process.</param>
/// <param name="Collections">In how many collections.</param>
/// <param name="AllocatedBytes">How many bytes the process allocated (all threads), which divided by the window's
/// messages gives a figure the machine's noise does not move.</param>
internal readonly record struct GcFigures(double PauseMs, int Collections, long AllocatedBytes);

/// <summary>
/// How long a process's garbage collector paused it during the measured window, in how many collections, and how much
/// the process allocated. A message in flight through a process that pauses waits as long; on two cores shared by
/// every process of a run, a pause lasts as long as the collector's threads wait for a core, so the tail of a run's
/// latency is read beside its pauses.
/// </summary>
internal sealed class GcWindow
{
    /// <summary>The line a server prints when asked (<c>PAUSES</c>): "PAUSES &lt;milliseconds&gt; &lt;collections&gt; &lt;bytes&gt;".</summary>
    public const string Prefix = "PAUSES ";

    private readonly TaskCompletionSource<GcFigures> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _scheduled;

    /// <summary>The window's figures, once its end has passed.</summary>
    public Task<GcFigures> Result => _result.Task;

    /// <summary>
    /// Reads the collector's totals at <paramref name="start"/> and at <paramref name="end"/> (timestamps of the
    /// machine's monotonic clock); the first call counts, and a start already past is read at once. A thread of its own waits for those moments: with the thread
    /// pool's timers, three of five saturated Chat customers' processes read no pause at all (their first reading ran
    /// after the window had ended, it seems), where a thread of its own read 3,936 ms in the same command's next run.
    /// </summary>
    public void Measure(long start, long end)
    {
        if (Interlocked.Exchange(ref _scheduled, 1) == 1)
        {
            return;
        }

        new Thread(() =>
        {
            SleepUntil(start);
            var (pause, count, allocated) = (GC.GetTotalPauseDuration(), GC.CollectionCount(0), GC.GetTotalAllocatedBytes());
            SleepUntil(end);
            _result.TrySetResult(new GcFigures((GC.GetTotalPauseDuration() - pause).TotalMilliseconds, GC.CollectionCount(0) - count,
                GC.GetTotalAllocatedBytes() - allocated));
        })
        { IsBackground = true, Name = "GC window" }.Start();
    }

    /// <summary>The server's answer to <c>PAUSES</c>.</summary>
    public async Task<string> LineAsync()
    {
        var figures = await Result;
        return FormattableString.Invariant($"{Prefix}{figures.PauseMs:F0} {figures.Collections} {figures.AllocatedBytes}");
    }

    /// <summary>Reads a server's <see cref="Prefix"/> line.</summary>
    public static GcFigures Parse(string rest)
    {
        var parts = rest.Split(' ');
        return new GcFigures(double.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture),
            long.Parse(parts[2], CultureInfo.InvariantCulture));
    }

    private static void SleepUntil(long timestamp)
    {
        var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), timestamp);
        if (wait > TimeSpan.Zero)
        {
            Thread.Sleep(wait);
        }
    }
}
