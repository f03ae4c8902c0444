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
/// The project's own load tool for the write path: sustained appends per second through each store with 1, 16 and
/// 256 concurrent writers (each awaiting its acknowledgement before sending the next, as a hub connection does),
/// against a binary COPY of the same rows into the same PostgreSQL in the same run (the baseline).
/// </summary>
internal static class StoreThroughput
{
    private const int Conversations = 1024;

    /// <summary>The text of every measured message, the COPY baseline's rows and <c>append-cpu</c>'s alike.</summary>
    internal const string MessageText = "where is my parcel? order 1234567890";

    public static async Task<int> RunAsync(string[] args)
    {
        if (CommandLine.Postgres(args) is not { } postgres)
        {
            return 2;
        }

        var seconds = CommandLine.Number(args, "--seconds", 10);
        var writerCounts = (CommandLine.Argument(args, "--writers") ?? "1,16,256").Split(',').Select(w => int.Parse(w, CultureInfo.InvariantCulture)).ToArray();
        var concurrentBatches = CommandLine.Number(args, "--batches", 2);
        var linger = TimeSpan.FromMilliseconds(double.Parse(CommandLine.Argument(args, "--linger-ms") ?? "0", CultureInfo.InvariantCulture));
        var duration = TimeSpan.FromSeconds(seconds);
        // The databases' locale: the server's default, or an ICU locale such as en-US (what most shops' servers use).
        var icuLocale = CommandLine.Argument(args, "--icu-locale");
        Console.WriteLine($"store-throughput: {seconds} s per run, {Conversations} conversations, {concurrentBatches} PostgreSQL batches in flight, linger {linger.TotalMilliseconds} ms, database locale {icuLocale ?? "the server's default"}, {Environment.ProcessorCount} cores");

        // Rounds: each measures COPY and then the PostgreSQL store, so every ratio has a baseline from the same minute;
        // the machine is shared and a rate moves by a quarter from one minute to the next. The summary is the median.
        var rounds = CommandLine.Number(args, "--rounds", 1);
        var ratios = writerCounts.ToDictionary(w => w, _ => new List<double>());
        // Each run writes into a database of its own; they are dropped at the end, not between runs, because dropping a
        // database forces a checkpoint, which would change the conditions of the run after it.
        var databases = new List<BenchDatabase>();
        try
        {
            for (var round = 1; round <= rounds; round++)
            {
                var copyRate = await CopyRateAsync(await BenchDatabase.CreateAsync(postgres, icuLocale, databases), rows: 200_000);
                Console.WriteLine($"| round {round}: PostgreSQL binary COPY (baseline) | - | {copyRate:N0} rows/s | 1.00 |");
                foreach (var writers in writerCounts)
                {
                    var database = await BenchDatabase.CreateAsync(postgres, icuLocale, databases);
                    var rate = await AppendRateAsync(chat => chat.AddPostgresStorage(o =>
                    {
                        o.ConnectionString = database;
                        o.MaxConcurrentBatches = concurrentBatches;
                        o.BatchLinger = linger;
                    }), writers, duration);
                    ratios[writers].Add(rate / copyRate);
                    Console.WriteLine($"| round {round}: PostgreSQL store appends | {writers} | {rate:N0} msg/s | {rate / copyRate:F2} |");
                }
            }
        }
        finally
        {
            await BenchDatabase.DropAllAsync(databases);
        }

        foreach (var (writers, list) in ratios)
        {
            list.Sort();
            Console.WriteLine($"| PostgreSQL store, median of {list.Count} round(s) | {writers} | ratio to COPY | {list[list.Count / 2]:F2} (min {list[0]:F2}, max {list[^1]:F2}) |");
        }

        if (CommandLine.Argument(args, "--sqlite") != "no")
        {
            foreach (var writers in writerCounts)
            {
                var dir = Directory.CreateTempSubdirectory("chat-bench-sqlite-");
                var rate = await AppendRateAsync(chat => chat.AddSqliteStorage(Path.Combine(dir.FullName, "chat.db")), writers, duration);
                Console.WriteLine($"| SQLite store appends | {writers} | {rate:N0} msg/s | - |");
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                dir.Delete(recursive: true);
            }
        }

        return 0;
    }

    private static async Task<double> AppendRateAsync(Action<IChatBuilder> addStorage, int writers, TimeSpan duration)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        addStorage(builder.Services.AddChat());
        using var host = builder.Build();
        await host.StartAsync();
        var messages = host.Services.GetRequiredService<IMessageStore>();
        var conversations = await CreateConversationsAsync(host.Services, Conversations);

        // Warm up, then measure.
        await RunWritersAsync(messages, conversations, writers, TimeSpan.FromSeconds(1));
        var stopwatch = Stopwatch.StartNew();
        var count = await RunWritersAsync(messages, conversations, writers, duration);
        var rate = count / stopwatch.Elapsed.TotalSeconds;
        await host.StopAsync();
        return rate;
    }

    /// <summary>Makes <paramref name="count"/> conversations of the tenant "bench" on the web channel, a visitor each.</summary>
    internal static async Task<Conversation[]> CreateConversationsAsync(IServiceProvider services, int count)
    {
        var conversationStore = services.GetRequiredService<IConversationStore>();
        var conversations = new Conversation[count];
        for (var i = 0; i < conversations.Length; i++)
        {
            var contact = await conversationStore.ResolveContactAsync("bench", new ChannelIdentity("web", $"visitor-{i}"), null, CancellationToken.None);
            conversations[i] = await conversationStore.GetOrCreateConversationAsync("bench", contact.Id, "web", CancellationToken.None);
        }

        return conversations;
    }

    private static async Task<long> RunWritersAsync(IMessageStore messages, Conversation[] conversations, int writers, TimeSpan duration)
    {
        long count = 0;
        var deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            var n = 0L;
            for (var i = 0; Stopwatch.GetTimestamp() < deadline; i++)
            {
                var conversation = conversations[(w + (i * writers)) % conversations.Length];
                await messages.AppendAsync(NewMessage(conversation, $"{Guid.NewGuid():N}"), CancellationToken.None);
                n++;
            }

            Interlocked.Add(ref count, n);
        })));
        return count;
    }

    private static async Task<double> CopyRateAsync(string connectionString, int rows)
    {
        {
            var builder = Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders();
            builder.Services.AddChat().AddPostgresStorage(connectionString);
            using var host = builder.Build();
            await host.StartAsync(); // the same schema, same indexes
            await host.StopAsync();
        }

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var stopwatch = Stopwatch.StartNew();
        await using (var importer = await connection.BeginBinaryImportAsync(
            "COPY chat.messages (tenant_id, conversation_id, seq, id, channel_id, direction, sender_kind, sender_id, kind, content, client_message_id, metadata, created_at) FROM STDIN (FORMAT BINARY)"))
        {
            var now = DateTime.UtcNow;
            for (var i = 0; i < rows; i++)
            {
                await importer.StartRowAsync();
                await importer.WriteAsync("bench", NpgsqlDbType.Text);
                await importer.WriteAsync((long)(i % Conversations), NpgsqlDbType.Bigint);
                await importer.WriteAsync((long)(i / Conversations) + 1, NpgsqlDbType.Bigint);
                await importer.WriteAsync((long)i + 1, NpgsqlDbType.Bigint);
                await importer.WriteAsync("web", NpgsqlDbType.Text);
                await importer.WriteAsync((short)0, NpgsqlDbType.Smallint);
                await importer.WriteAsync((short)0, NpgsqlDbType.Smallint);
                await importer.WriteAsync("visitor", NpgsqlDbType.Text);
                await importer.WriteAsync((short)0, NpgsqlDbType.Smallint);
                await importer.WriteAsync(MessageText, NpgsqlDbType.Text);
                await importer.WriteAsync(Guid.NewGuid().ToString("N"), NpgsqlDbType.Text);
                await importer.WriteAsync("{}", NpgsqlDbType.Jsonb);
                await importer.WriteAsync(now, NpgsqlDbType.TimestampTz);
            }

            await importer.CompleteAsync();
        }

        return rows / stopwatch.Elapsed.TotalSeconds;
    }

    private static ChatMessage NewMessage(Conversation conversation, string clientId) => new()
    {
        TenantId = conversation.TenantId,
        ConversationId = conversation.Id,
        ChannelId = conversation.ChannelId,
        Direction = MessageDirection.Inbound,
        Sender = new MessageSender(SenderKind.Customer, "visitor"),
        Kind = MessageKind.Text,
        Content = MessageText,
        ClientMessageId = clientId,
    };
}
