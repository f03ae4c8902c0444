using System.Collections.Concurrent;
using System.Globalization;

namespace Chat.LoadTest;

/// <summary>
/// How long the runtime's compilers are still busy in each process of a run. A hub's hot methods are compiled a second
/// time (tiered compilation, with profile-guided optimization) only once they have run a while; on two cores saturated
/// by the load that takes some 10 to 20 s, and a run measured before it ends measures the compilers too, more for the
/// Chat hub (about 16,000 methods) than for the bare hub. So the warm-up lasts until every process is quiet.
/// </summary>
internal static class Compilation
{
    /// <summary>The line a process prints once a second: "JIT &lt;milliseconds spent compiling in the last second&gt;".</summary>
    public const string Prefix = "JIT ";

    /// <summary>Prints <see cref="Prefix"/> lines once a second until <paramref name="until"/> completes.</summary>
    public static async Task ReportAsync(Task until)
    {
        var last = System.Runtime.JitInfo.GetCompilationTime();
        while (await Task.WhenAny(until, Task.Delay(1000)) != until)
        {
            var now = System.Runtime.JitInfo.GetCompilationTime();
            Console.WriteLine(FormattableString.Invariant($"{Prefix}{(now - last).TotalMilliseconds:F0}"));
            last = now;
        }
    }
}

/// <summary>The orchestrator's view of the <see cref="Compilation"/> reports of a run's processes.</summary>
internal sealed class CompilationWatch(int processes)
{
    /// <summary>A process is quiet when it compiled for at most this long in each of its last two reports (2 % of a core).</summary>
    public const int QuietMilliseconds = 20;

    private readonly ConcurrentDictionary<string, (double Previous, double Last, int Count)> _reports = new();

    /// <summary>Takes a line a process printed; false when it is not a report.</summary>
    public bool TryTake(string process, string line)
    {
        if (!line.StartsWith(Compilation.Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var ms = double.Parse(line.AsSpan(Compilation.Prefix.Length), CultureInfo.InvariantCulture);
        _reports.AddOrUpdate(process, (double.MaxValue, ms, 1), (_, r) => (r.Last, ms, r.Count + 1));
        return true;
    }

    /// <summary>Forgets what was reported so far (before the traffic starts: connecting compiles too).</summary>
    public void Reset() => _reports.Clear();

    /// <summary>Whether every process has reported, each quiet in its last two reports.</summary>
    public bool Quiet => _reports.Count >= processes
        && _reports.Values.All(r => r.Count >= 2 && r.Previous <= QuietMilliseconds && r.Last <= QuietMilliseconds);

    /// <summary>The busiest process's last report, for the log.</summary>
    public string Busiest
    {
        get
        {
            if (_reports.IsEmpty)
            {
                return "none";
            }

            var (name, report) = _reports.MaxBy(r => r.Value.Last);
            return FormattableString.Invariant($"{name} {report.Last:F0} ms");
        }
    }
}
