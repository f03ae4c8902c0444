using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Chat.LoadTest;

/// <summary>
/// A whole run: for each kind (bare hub, then the Chat hub) a server process and several load processes (a process
/// may open at most 20,000 files here), idle memory per connection from the server's RSS, then the traffic, then one
/// table with ratios to the bare hub measured in the same run; with <c>--rounds N</c> that N times, the order of the
/// hubs alternating, and the median of the rounds' ratios.
/// </summary>
internal static class Orchestrator
{
    public static async Task<int> RunAsync(Args args)
    {
        // Whether the load processes' thread pools spin for work as by default (--driver-spin default).
        var spin = args.Get("driver-spin", "none") == "default";
        // Whether a paced run's load processes touch their first generation's memory before the traffic (--pretouch no
        // leaves it cold, as before session 34; see Driver.PreTouch).
        var pretouch = args.Get("pretouch", "yes") == "yes";
        var customers = args.GetInt("customers", 1000);
        var agents = args.GetInt("agents", 2);
        var rate = args.GetInt("rate", 0);
        var seconds = args.GetInt("seconds", 10);
        var warmup = args.GetInt("warmup", 5);
        var warmupMax = Math.Max(warmup, args.GetInt("warmup-max", 60));
        var untilQuiet = args.Get("warmup-until", "quiet") == "quiet";
        var protocol = args.Get("protocol", "json");
        // Up to 10,000 customers a process (each a socket, and its negotiation's for a second; a process may open at most
        // 20,000 files here): every further load process is a thread pool and a heap more on the cores the hub needs.
        var processes = Math.Max(1, args.GetInt("processes", (customers + 9999) / 10000));
        var kinds = args.Get("kinds", "bare,chat").Split(',');
        var postgres = args.GetOrNull("postgres");
        var via = args.Get("via", "hub");
        var redis = args.GetOrNull("redis");
        var agentCapacity = args.GetInt("agent-capacity", 0);
        var agentsHear = args.Get("agents-hear", "all");
        // For the tool's own test: the end of a warm-up that waits for quiet compilers is said this long after the moment it
        // names (not half a second before), as a load process on a saturated machine reads it late; every process must
        // still count the same messages. A fixed warm-up's end is said at the start of the traffic and is not made late.
        var measureLate = TimeSpan.FromMilliseconds(args.GetInt("measure-late-ms", 0));
        // How much of its first generation a paced load process touches before the traffic: what it may allocate in a
        // warm-up as long as it can be and the measured seconds (generously 8 KiB a message heard or sent; the customers'
        // processes measured 3 to 5), up to the generation's 1 GiB less a margin; nothing as fast as possible (rate 0).
        int PreTouchMegabytes(int messagesPerSecond) => !pretouch ? 0
            : (int)Math.Min(960, ((long)messagesPerSecond * (warmupMax + seconds + 10) * 8) / 1024);
        Console.WriteLine($"load: {customers:N0} customers and {agents} agent(s) over {processes} process(es), rate {(rate <= 0 ? "as fast as possible" : rate.ToString("N0", CultureInfo.InvariantCulture) + " msg/s")}, {(untilQuiet ? $"a warm-up of {warmup} to {warmupMax} s (until the compilers are quiet)" : $"{warmup} s warm-up")} then {seconds} s measured, {protocol}, storage {(postgres is null ? "SQLite" : "PostgreSQL")}, customers via {via}{(redis is null ? "" : ", Chat with the Redis backplane")}{(agentCapacity > 0 ? $", Chat agents online with {agentCapacity} place(s) each" : "")}{(agentsHear == "all" ? "" : ", Chat agents hear their own conversations only")}{(spin ? ", load processes spinning for work" : "")}, {Environment.ProcessorCount} cores");

        // Each round runs every hub once, the order alternating from round to round so that neither always runs in the
        // other's wake; on a shared machine a rate moves by a quarter from one minute to the next, and the median of the
        // rounds' ratios says more than any one of them. Each round has customers and agents of its own (--run), so the
        // Chat database holds the earlier rounds' messages but nothing a round's own conversations start from.
        var rounds = Math.Max(1, args.GetInt("rounds", 1));
        var rows = new List<(int Round, string Kind, Result Total, double BytesPerConnection)>();
        var ratios = new List<(double Throughput, double Memory)>();
        for (var round = 1; round <= rounds; round++)
        {
            var hubs = new Dictionary<string, (Result Total, double BytesPerConnection)>();
            foreach (var kind in round % 2 == 1 ? kinds : kinds.Reverse())
            {
                hubs[kind] = await RunHubAsync(kind, round, rounds == 1 ? kind : $"{kind} #{round}");
                rows.Add((round, kind, hubs[kind].Total, hubs[kind].BytesPerConnection));
            }

            if (hubs.TryGetValue("bare", out var bare) && hubs.TryGetValue("chat", out var chat))
            {
                ratios.Add((chat.Total.Received / chat.Total.Seconds / (bare.Total.Received / bare.Total.Seconds), chat.BytesPerConnection / bare.BytesPerConnection));
            }
        }

        Console.WriteLine();
        Console.WriteLine($"| hub{(rounds == 1 ? "" : " | round")} | acknowledged/s | received by agent/s | p50 | p99 | max | KiB per idle connection |");
        Console.WriteLine($"| ---{(rounds == 1 ? "" : " | ---:")} | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (round, kind, r, bytes) in rows)
        {
            Console.WriteLine($"| {kind}{(rounds == 1 ? "" : $" | {round}")} | {r.Acked / r.Seconds:N0} | {r.Received / r.Seconds:N0} | {r.P50:F1} ms | {r.P99:F1} ms | {r.Max:F1} ms | {bytes / 1024:F1} |");
        }

        foreach (var (throughput, memory) in ratios)
        {
            Console.WriteLine($"ratios chat/bare: throughput (received/s) {throughput:F2}, memory per idle connection {memory:F2}");
        }

        if (ratios.Count > 1)
        {
            Console.WriteLine($"median of {ratios.Count} rounds, chat/bare: throughput (received/s) {Median(ratios.Select(r => r.Throughput)):F2} (min {ratios.Min(r => r.Throughput):F2}, max {ratios.Max(r => r.Throughput):F2}), memory per idle connection {Median(ratios.Select(r => r.Memory)):F2}");
        }

        if (rounds > 1)
        {
            // A run's tail moves more than its rate from one minute to the next (PostgreSQL's autovacuum, once a minute,
            // lands in about a third of 20-second windows), so a latency goal is judged on the rounds' median too.
            foreach (var kind in kinds)
            {
                var p99s = rows.Where(r => r.Kind == kind).Select(r => r.Total.P99).ToArray();
                Console.WriteLine(FormattableString.Invariant($"median of {p99s.Length} rounds, {kind}: p99 {Median(p99s):F1} ms (min {p99s.Min():F1}, max {p99s.Max():F1})"));
            }
        }

        return 0;

        async Task<(Result Total, double BytesPerConnection)> RunHubAsync(string kind, int round, string label)
        {
            using var server = Start(spin, paced: false, "serve", "--kind", kind, postgres is null ? "" : "--postgres", postgres ?? "", redis is null ? "" : "--redis", redis ?? "",
                "--agents-hear", agentsHear);
            var url = await ExpectAsync(server, "READY ");
            var collected = new SemaphoreSlim(0);
            var serverPauses = new TaskCompletionSource<GcFigures>(TaskCreationOptions.RunContinuationsAsynchronously);
            var compilers = new CompilationWatch(processes + 2);
            _ = Task.Run(async () =>
            {
                // Keep reading what the server prints, or it blocks on a full pipe.
                while (await server.StandardOutput.ReadLineAsync() is { } line)
                {
                    if (compilers.TryTake("server", line))
                    {
                        continue;
                    }

                    if (line == "GC-DONE")
                    {
                        collected.Release();
                        continue;
                    }

                    if (line.StartsWith(GcWindow.Prefix, StringComparison.Ordinal))
                    {
                        serverPauses.TrySetResult(GcWindow.Parse(line[GcWindow.Prefix.Length..]));
                        continue;
                    }

                    Console.WriteLine("  server: " + line);
                }
            });
            async Task<long> IdleRssAsync()
            {
                await server.StandardInput.WriteLineAsync("GC");
                await server.StandardInput.FlushAsync();
                await collected.WaitAsync();
                await Task.Delay(500);
                return Rss(server.Id);
            }

            var before = await IdleRssAsync();
            // The agents in a process of their own (as they would be on their own machines), the customers spread over the rest.
            var drivers = new List<Process>
            {
                Start(spin, paced: rate > 0, "drive", "--url", url, "--kind", kind, "--customers", "0", "--agents", agents.ToString(CultureInfo.InvariantCulture),
                    "--seconds", seconds.ToString(CultureInfo.InvariantCulture), "--protocol", protocol, "--id", "agents", "--run", round.ToString(CultureInfo.InvariantCulture),
                    "--agent-capacity", agentCapacity.ToString(CultureInfo.InvariantCulture), "--agents-hear", agentsHear,
                    "--pretouch-mb", PreTouchMegabytes(rate).ToString(CultureInfo.InvariantCulture)),
            };
            for (var p = 0; p < processes; p++)
            {
                var share = (customers / processes) + (p < customers % processes ? 1 : 0);
                drivers.Add(Start(spin, paced: rate > 0, "drive", "--url", url, "--kind", kind, "--customers", share.ToString(CultureInfo.InvariantCulture), "--agents", "0",
                    "--rate", (rate / processes).ToString(CultureInfo.InvariantCulture), "--seconds", seconds.ToString(CultureInfo.InvariantCulture),
                    "--protocol", protocol, "--via", via, "--id", p.ToString(CultureInfo.InvariantCulture), "--run", round.ToString(CultureInfo.InvariantCulture),
                    "--pretouch-mb", PreTouchMegabytes(rate / processes).ToString(CultureInfo.InvariantCulture)));
            }

            var connectWatch = Stopwatch.StartNew();
            foreach (var driver in drivers)
            {
                await ExpectAsync(driver, "CONNECTED ");
            }

            Console.WriteLine($"{label}: {customers + agents:N0} connections open in {connectWatch.Elapsed.TotalSeconds:F1} s");
            await Task.Delay(2000);
            var idle = await IdleRssAsync();
            var perConnection = (idle - before) / (double)(customers + agents);
            // From here each process's output is read as it comes: its compilation reports, then its result.
            var results = drivers.Select((d, i) => ExpectAsync(d, "RESULT ", line => compilers.TryTake(i == 0 ? "agents" : $"customers-{i}", line))).ToList();
            var go = Stopwatch.GetTimestamp() + (Stopwatch.Frequency / 2);
            compilers.Reset();
            await SayAsync(drivers, FormattableString.Invariant($"GO {go}"));

            // Halfway through the warm-up, the tables are analyzed, as autovacuum does within a minute or so of traffic
            // on a real database: the store's statements were first planned when its tables were empty, and a plan for
            // an empty table (a sequential scan) would otherwise stay until autovacuum's first analyze.
            var analyzed = postgres is not null && args.Get("analyze", "yes") == "yes" ? AnalyzeAsync(postgres, go, warmup) : Task.CompletedTask;
            var measureAt = await WarmUpAsync(label, drivers, go, warmup, untilQuiet ? warmupMax : warmup, compilers, measureLate);
            await SayAsync([server], FormattableString.Invariant($"MEASURE {measureAt} {measureAt + (seconds * Stopwatch.Frequency)}"));

            // The agents' progress shows as it comes. The customers' results first: the agents' process then waits for
            // as many messages as they had acknowledged.
            var customersResults = new List<Result>();
            foreach (var (driver, result) in drivers.Zip(results).Skip(1))
            {
                customersResults.Add(JsonSerializer.Deserialize<Result>(await result)!);
                await driver.WaitForExitAsync();
            }

            await SayAsync(drivers.Take(1), FormattableString.Invariant($"EXPECT {customersResults.Sum(r => r.Acked)}"));
            var agentSide = JsonSerializer.Deserialize<Result>(await results[0])!;
            await drivers[0].WaitForExitAsync();

            await SayAsync([server], "PAUSES");
            var serverGc = await serverPauses.Task;
            await analyzed;
            server.StandardInput.Close();
            await server.WaitForExitAsync();
            var total = new Result(customersResults.Sum(r => r.Sent), customersResults.Sum(r => r.Acked), customersResults.Sum(r => r.Errors), agentSide.Received,
                customersResults.Append(agentSide).Max(r => r.Seconds), agentSide.P50, agentSide.P99, agentSide.Max);
            Console.WriteLine($"{label}: garbage collection pauses in the measured window: server {serverGc.PauseMs:N0} ms ({serverGc.Collections} collections), agents' process {agentSide.GcPauseMs:N0} ms ({agentSide.Collections}), customers' processes {string.Join(", ", customersResults.Select(r => FormattableString.Invariant($"{r.GcPauseMs:N0} ms ({r.Collections})")))}");
            Console.WriteLine($"{label}: from a send to its answer (for Chat, once stored): p50 {string.Join(", ", customersResults.Select(r => FormattableString.Invariant($"{r.AckP50:F1}")))} ms, p99 {string.Join(", ", customersResults.Select(r => FormattableString.Invariant($"{r.AckP99:F1}")))} ms (each customers' process)");

            // Bytes allocated in the window for each message sent in it: unlike time, the machine's noise does not move them.
            var sentInWindow = Math.Max(1, total.Sent);
            Console.WriteLine(FormattableString.Invariant($"{label}: allocated a message: server {serverGc.AllocatedBytes / sentInWindow:N0} bytes, agents' process {agentSide.AllocatedBytes / sentInWindow:N0}, customers' processes {customersResults.Sum(r => r.AllocatedBytes) / sentInWindow:N0}"));
            Console.WriteLine($"{label}: sent {total.Sent:N0}, acknowledged {total.Acked:N0}, errors {total.Errors:N0}, received by agent {total.Received:N0} ({total.Received / total.Seconds:N0}/s), p50 {total.P50:F1} ms, p99 {total.P99:F1} ms, max {total.Max:F1} ms, server memory {perConnection / 1024:F1} KiB per idle connection");
            return (total, perConnection);
        }
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <param name="spin">Whether a load process's thread pool spins for work as by default.</param>
    /// <param name="paced">Whether the customers send at a given rate (a latency run) rather than as fast as they can.</param>
    /// <param name="arguments">The command ("serve" or "drive") and its arguments.</param>
    private static Process Start(bool spin, bool paced, params string[] arguments)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        if (arguments[0] == "drive")
        {
            // Load processes use the server GC with one heap, bounded, and its thread on any core. With the workstation GC
            // (its small first generation collected a few times a second, each time through thousands of connections'
            // objects) a customers' process was paused for 26 to 34 % of a saturated run, and both hubs did about a
            // quarter less; the server GC's default of a heap per core, unbounded, reserves more address space in
            // several processes than the machine allows.
            start.Environment["DOTNET_gcServer"] = "1";
            start.Environment["DOTNET_GCHeapCount"] = "1";
            start.Environment["DOTNET_GCHeapHardLimit"] = "0x100000000"; // 4 GiB
            start.Environment["DOTNET_GCNoAffinitize"] = "1";

            // At a given rate, also a first generation of 1 GiB: with what opening the connections left compacted away
            // before the traffic (Driver), a load process then goes through the measured window without a collection,
            // where a customers' process of 5,000 Chat clients was paused 160 to 880 ms in it (its collections scan
            // thousands of connections' objects), a pause of the load generator charged to the messages in flight
            // through it. Each process touches that memory before the traffic (Driver.PreTouch, --pretouch-mb), as a
            // first touch of a page costs about 14 µs here. Not as fast as possible: there each allocation touching cold
            // memory made the load processes slower, the bare hub's more (a bare run 15,695 and 15,776 messages a second
            // against 16,156 and 19,011, before the touching).
            if (paced)
            {
                start.Environment["DOTNET_GCgen0size"] = "0x40000000";
            }

            // Nor do their thread pools spin for work: thousands of idle client connections (each with the SignalR
            // client's timer) kept the load processes' idle threads spinning, which took about a core from the
            // servers under test on two cores (--driver-spin default puts it back).
            if (!spin)
            {
                start.Environment["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"] = "0";
            }
        }

        foreach (var argument in arguments.Where(a => a.Length > 0))
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start)!;
    }

    /// <summary>
    /// Ends the warm-up: once at least <paramref name="warmup"/> seconds of traffic have passed and every process's
    /// compilers are quiet, or after <paramref name="warmupMax"/> seconds, every load process is told to measure from
    /// the same moment, which is returned.
    /// </summary>
    private static async Task<long> WarmUpAsync(string label, List<Process> drivers, long go, int warmup, int warmupMax, CompilationWatch compilers, TimeSpan late)
    {
        if (warmup == warmupMax)
        {
            // A fixed warm-up: its end is known now, so every process has it long before.
            var at = go + (warmup * Stopwatch.Frequency);
            await SayAsync(drivers, FormattableString.Invariant($"MEASURE {at}"));
            Console.WriteLine($"{label}: measured from second {warmup} of the traffic on");
            return at;
        }

        var second = 0;
        var atGo = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), go);
        await Task.Delay(atGo > TimeSpan.Zero ? atGo : TimeSpan.Zero);
        while (second < warmupMax && (second < warmup || !compilers.Quiet))
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            second++;
        }

        // Half a second ahead, as for GO, so every process has the line before that moment and counts the same messages.
        var measureAt = late > TimeSpan.Zero
            ? Stopwatch.GetTimestamp() - (long)(late.TotalSeconds * Stopwatch.Frequency)
            : Stopwatch.GetTimestamp() + (Stopwatch.Frequency / 2);
        await SayAsync(drivers, FormattableString.Invariant($"MEASURE {measureAt}"));
        Console.WriteLine(compilers.Quiet
            ? $"{label}: measured from second {second} of the traffic on (every process compiled for at most {CompilationWatch.QuietMilliseconds} ms in each of the last two seconds)"
            : $"{label}: measured from second {second} of the traffic on, the warm-up's limit, with the compilers still busy (busiest: {compilers.Busiest} in the last second)");
        return measureAt;
    }

    private static async Task SayAsync(IEnumerable<Process> processes, string line)
    {
        foreach (var process in processes)
        {
            await process.StandardInput.WriteLineAsync(line);
            await process.StandardInput.FlushAsync();
        }
    }

    /// <summary>
    /// Reads a process's output until a line with <paramref name="prefix"/> and returns the rest of it; lines
    /// <paramref name="take"/> consumes (a load process's compilation reports) are not shown, the others are.
    /// </summary>
    private static async Task<string> ExpectAsync(Process process, string prefix, Func<string, bool>? take = null)
    {
        while (await process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (take?.Invoke(line) == true)
            {
                continue;
            }

            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return line[prefix.Length..];
            }

            Console.WriteLine("  " + line);
        }

        throw new InvalidOperationException($"Process {process.Id} ended before printing '{prefix.Trim()}'.");
    }

    private static long Rss(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    private static async Task AnalyzeAsync(string connectionString, long go, int warmup)
    {
        await Task.Delay(Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), go) + TimeSpan.FromSeconds(warmup / 2.0));
        await using var connection = new Npgsql.NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var analyze = new Npgsql.NpgsqlCommand("ANALYZE", connection);
        await analyze.ExecuteNonQueryAsync();
        Console.WriteLine("  analyzed the database halfway through the warm-up");
    }
}
