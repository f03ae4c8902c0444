using System.Diagnostics;
using System.Reflection;

namespace Chat.Hub.Tests;

/// <summary>
/// The load tool still runs end to end (server process, agents' and customers' processes, both hubs; customers on hub
/// connections or as platform users pushing through a webhook) and reports what it measured, over one round or several
/// (each hub again, the order alternating, and the median of the rounds' ratios), with each process's garbage collection
/// pauses in the measured window. It asserts what happened, never how fast: figures come from real runs
/// (docs/benchmarks.md).
/// </summary>
public sealed class LoadToolTests
{
    [Theory]
    [InlineData("hub", 1, 0)]
    [InlineData("webhook", 2, 0)]
    [InlineData("hub", 1, 1500)] // each load process learns where the measured window starts 1.5 s after that moment
    public async Task The_load_tool_runs_both_hubs_and_loses_nothing(string via, int rounds, int measureLateMs)
    {
        var tool = typeof(LoadToolTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "LoadTool").Value!;
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "run", "--customers", "40", "--agents", "1", "--rate", "200", "--seconds", "2", "--warmup", "1", "--warmup-max", "4", "--via", via, "--rounds", rounds.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--measure-late-ms", measureLateMs.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        var text = await output;
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {text}{await error}");
        Assert.Contains($"customers via {via}", text, StringComparison.Ordinal);

        var lines = text.Split('\n');
        string[] labels = rounds == 1 ? ["bare", "chat"] : Enumerable.Range(1, rounds).SelectMany(r => new[] { $"bare #{r}", $"chat #{r}" }).ToArray();
        foreach (var label in labels)
        {
            // The warm-up lasts until every process's compilers are quiet, at least 1 s and at most 4 s here.
            var measuredFrom = lines.Single(l => l.StartsWith(label + ": measured from second ", StringComparison.Ordinal));
            Assert.InRange(Number(measuredFrom, "second "), 1, 4);
            var summary = lines.Single(l => l.StartsWith(label + ": sent", StringComparison.Ordinal));
            Assert.Contains("errors 0", summary, StringComparison.Ordinal);
            var sent = Number(summary, "sent ");
            Assert.True(sent > 0, summary);
            Assert.True(sent == Number(summary, "acknowledged ") && sent == Number(summary, "received by agent "), text);

            // Every message sent in the 2 s window counts, also those sent before a process learnt where the window began
            // (200 a second; the open loop issues what is due every 5 ms).
            Assert.True(sent >= 380, summary);

            // What the garbage collector paused in the window, in the server and in each load process.
            var pauses = lines.Single(l => l.StartsWith(label + ": garbage collection pauses in the measured window: server ", StringComparison.Ordinal));
            Assert.True(Number(pauses, "server ") >= 0 && Number(pauses, "agents' process ") >= 0 && Number(pauses, "customers' processes ") >= 0, pauses);

            // How long a send took to be answered (stored), from the customers' own histogram, and what each process
            // allocated for each message: a server allocates something for every message it takes.
            var answered = lines.Single(l => l.StartsWith(label + ": from a send to its answer (for Chat, once stored): p50 ", StringComparison.Ordinal));
            Assert.True(Fraction(answered, "p50 ") > 0 && Fraction(answered, "p99 ") >= Fraction(answered, "p50 "), answered);
            var allocated = lines.Single(l => l.StartsWith(label + ": allocated a message: server ", StringComparison.Ordinal));
            Assert.True(Number(allocated, "server ") > 0 && Number(allocated, "agents' process ") >= 0 && Number(allocated, "customers' processes ") > 0, allocated);
        }

        Assert.Equal(rounds, lines.Count(l => l.StartsWith("ratios chat/bare: throughput", StringComparison.Ordinal)));
        if (rounds > 1)
        {
            // The second round ran the Chat hub first.
            Assert.True(Array.FindIndex(lines, l => l.StartsWith("chat #2: sent", StringComparison.Ordinal)) < Array.FindIndex(lines, l => l.StartsWith("bare #2: sent", StringComparison.Ordinal)), text);
            Assert.Single(lines, l => l.StartsWith($"median of {rounds} rounds, chat/bare: throughput", StringComparison.Ordinal));
        }

        Assert.Contains("messages heard in the last second", text, StringComparison.Ordinal);
    }

    private static double Fraction(string line, string label)
    {
        var at = line.IndexOf(label, StringComparison.Ordinal) + label.Length;
        var end = line.IndexOfAny([',', ' '], at) is var e and >= 0 ? e : line.Length;
        return double.Parse(line[at..end], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static long Number(string line, string label)
    {
        var at = line.IndexOf(label, StringComparison.Ordinal) + label.Length;
        var end = line.IndexOfAny([',', ' ', '('], at) is var e and >= 0 ? e : line.Length;
        return long.Parse(line[at..end].Replace(",", string.Empty, StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture);
    }
}
