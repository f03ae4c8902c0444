using System.Diagnostics;
using System.Globalization;
using Chat.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace Chat.Benchmarks;

/// <summary>
/// What an append costs PostgreSQL itself: a few connections call the store's append statement
/// (<c>chat.append_batch_fast</c>) with batches of messages to random conversations, as fast as they can, and the
/// backends' CPU is read from <c>/proc</c> (so PostgreSQL must run on this machine). Prints microseconds of the
/// backends' CPU a message. It leaves out the store's client side (its batching, Npgsql's encoding), which
/// <c>store-throughput</c> measures with it.
/// </summary>
/// <remarks>
/// <c>--setup-sql</c> runs a statement on the fresh schema before the rounds (say, <c>DROP INDEX ...</c>), to see what a
/// part of the schema costs; <c>--client-ids v7</c> gives time-ordered client message ids instead of random ones.
/// Each round empties the messages first, so each starts from the same table.
/// </remarks>
internal static class AppendCpu
{
    private const string AppendSql = "SELECT r_idx FROM chat.append_batch_fast($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)";

    public static async Task<int> RunAsync(string[] args)
    {
        if (CommandLine.Postgres(args) is not { } postgres)
        {
            return 2;
        }

        var batch = CommandLine.Number(args, "--batch", 100);
        var connections = CommandLine.Number(args, "--connections", 2);
        var seconds = CommandLine.Number(args, "--seconds", 12);
        var rounds = CommandLine.Number(args, "--rounds", 2);
        var conversationCount = CommandLine.Number(args, "--conversations", 1024);
        var clientIds = CommandLine.Argument(args, "--client-ids") ?? "v4";
        if (clientIds is not ("v4" or "v7"))
        {
            Console.Error.WriteLine($"--client-ids '{clientIds}' is neither v4 (random ids) nor v7 (time-ordered ids).");
            return 2;
        }

        var timeOrdered = clientIds == "v7";
        var databases = new List<BenchDatabase>();
        try
        {
            var database = await BenchDatabase.CreateAsync(postgres, icuLocale: null, databases);
            var conversations = await PrepareAsync(database, conversationCount, CommandLine.Argument(args, "--setup-sql"));
            Console.WriteLine($"append-cpu: batches of {batch} to {conversationCount} conversations, {connections} connection(s), {seconds} s a round, client ids {clientIds}");
            for (var round = 1; round <= rounds; round++)
            {
                await BenchDatabase.ExecuteAsync(database, "TRUNCATE chat.messages, chat.outbox; CHECKPOINT");
                var (rate, cpuPerMessage) = await MeasureAsync(database, conversations, batch, connections, TimeSpan.FromSeconds(seconds), timeOrdered);
                Console.WriteLine($"| round {round} | {rate:N0} msg/s | {cpuPerMessage:F1} µs of the backends' CPU a message |");
            }
        }
        finally
        {
            await BenchDatabase.DropAllAsync(databases);
        }

        return 0;
    }

    /// <summary>Applies the store's migrations and makes the conversations, then runs the setup statement, if any.</summary>
    private static async Task<long[]> PrepareAsync(string database, int count, string? setupSql)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddChat().AddPostgresStorage(database);
        using (var host = builder.Build())
        {
            await host.StartAsync();
            var conversations = await StoreThroughput.CreateConversationsAsync(host.Services, count);
            await host.StopAsync();
            if (setupSql is not null)
            {
                await BenchDatabase.ExecuteAsync(database, setupSql);
            }

            return conversations.Select(c => c.Id).ToArray();
        }
    }

    private static async Task<(double Rate, double CpuMicrosecondsPerMessage)> MeasureAsync(string database, long[] conversations, int batch, int connections,
        TimeSpan duration, bool timeOrdered)
    {
        var pids = new int[connections];
        var measured = 0L;
        var measuring = false;
        using var stop = new CancellationTokenSource();
        var nextId = DateTime.UtcNow.Ticks;
        var writers = Enumerable.Range(0, connections).Select(c => Task.Run(async () =>
        {
            await using var connection = new NpgsqlConnection(database);
            await connection.OpenAsync();
            await using (var pid = new NpgsqlCommand("SELECT pg_backend_pid()", connection))
            {
                pids[c] = (int)(await pid.ExecuteScalarAsync())!;
            }

            var random = new Random(c);
            while (!stop.IsCancellationRequested)
            {
                await using var command = Batch(connection, conversations, batch, random, timeOrdered, ref nextId);
                var rows = 0;
                await using (var reader = await command.ExecuteReaderAsync())
                {
                    while (await reader.ReadAsync())
                    {
                        rows++;
                    }
                }

                if (rows != batch)
                {
                    throw new InvalidOperationException($"The append answered {rows} of {batch} messages.");
                }

                if (Volatile.Read(ref measuring))
                {
                    Interlocked.Add(ref measured, batch);
                }
            }
        })).ToArray();

        await Task.Delay(TimeSpan.FromSeconds(1.5)); // warm up: plans, caches
        if (pids.Any(p => !File.Exists($"/proc/{p}/stat")))
        {
            stop.Cancel();
            await Task.WhenAll(writers);
            throw new InvalidOperationException("append-cpu reads the backends' CPU from /proc: run it on the machine PostgreSQL runs on.");
        }

        var before = pids.Select(CpuTicks).ToArray();
        Volatile.Write(ref measuring, true);
        var stopwatch = Stopwatch.StartNew();
        await Task.Delay(duration);
        Volatile.Write(ref measuring, false);
        var elapsed = stopwatch.Elapsed.TotalSeconds;
        var after = pids.Select(CpuTicks).ToArray();
        stop.Cancel();
        await Task.WhenAll(writers);

        var cpuSeconds = after.Zip(before, (a, b) => a - b).Sum() / 100.0; // USER_HZ is 100 on Linux
        var messages = Interlocked.Read(ref measured);
        return (messages / elapsed, cpuSeconds * 1e6 / messages);
    }

    /// <summary>A user's and the kernel's CPU time of a process so far, in clock ticks.</summary>
    private static long CpuTicks(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    /// <summary>One call of the append statement with <paramref name="batch"/> customer messages, as the store sends them.</summary>
    private static NpgsqlCommand Batch(NpgsqlConnection connection, long[] conversations, int batch, Random random, bool timeOrdered, ref long nextId)
    {
        var conversation = new long[batch];
        var ordinal = new int[batch];
        var clientIds = new string[batch];
        var ids = new long[batch];
        var counts = new SortedDictionary<long, int>();
        for (var i = 0; i < batch; i++)
        {
            conversation[i] = conversations[random.Next(conversations.Length)];
            ordinal[i] = counts[conversation[i]] = counts.GetValueOrDefault(conversation[i]) + 1;
            clientIds[i] = (timeOrdered ? Guid.CreateVersion7() : Guid.NewGuid()).ToString("N");
            ids[i] = Interlocked.Increment(ref nextId);
        }

        var command = new NpgsqlCommand(AppendSql, connection);
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = Enumerable.Range(0, batch).ToArray() });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = Same("bench", batch) });
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = conversation });
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = ids });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = Same("web", batch) });
        command.Parameters.Add(new NpgsqlParameter<short[]> { TypedValue = new short[batch] }); // inbound
        command.Parameters.Add(new NpgsqlParameter<short[]> { TypedValue = new short[batch] }); // from the customer
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = conversation.Select(c => $"visitor-{c}").ToArray() });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = new string?[batch] });
        command.Parameters.Add(new NpgsqlParameter<short[]> { TypedValue = new short[batch] }); // text
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = Same(StoreThroughput.MessageText, batch) });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = clientIds });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = new string?[batch] });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = new string?[batch] });
        command.Parameters.Add(new NpgsqlParameter<DateTime?[]> { TypedValue = new DateTime?[batch], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = ordinal });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = Same("bench", counts.Count) });
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = counts.Keys.ToArray() });
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = counts.Values.ToArray() });
        return command;
    }

    private static string[] Same(string value, int count) => Enumerable.Repeat(value, count).ToArray();
}
