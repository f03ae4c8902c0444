using Chat.Storage.Postgres;
using Chat.Storage.Tests.Conformance;
using Chat.Storage.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Chat.Storage.Tests.Postgres;

/// <summary>What only the PostgreSQL store has: concurrent migrations, the read/write split.</summary>
public sealed class PostgresSpecificTests
{
    [Fact]
    public async Task Nodes_starting_together_apply_each_migration_once()
    {
        var (primary, _) = await PostgresServer.CreateDatabaseAsync();

        var hosts = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => StoreHost.StartAsync(chat => chat.AddPostgresStorage(primary))));
        try
        {
            await using var connection = new NpgsqlConnection(primary);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT version, count(*) FROM chat.schema_migrations GROUP BY version ORDER BY version", connection);
            await using var reader = await command.ExecuteReaderAsync();
            var rows = new List<(int, long)>();
            while (await reader.ReadAsync())
            {
                rows.Add((reader.GetInt32(0), reader.GetInt64(1)));
            }

            Assert.Equal(PostgresMigrator.Migrations.Select(m => (m.Version, 1L)), rows);
        }
        finally
        {
            foreach (var host in hosts)
            {
                await host.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Relaxed_reads_go_to_the_standby_and_writes_and_strong_reads_to_the_primary()
    {
        var (primary, standby) = await PostgresServer.CreateDatabaseAsync();
        var readName = "chat-read-" + Guid.NewGuid().ToString("N")[..8];
        var readConnection = new NpgsqlConnectionStringBuilder(standby) { ApplicationName = readName }.ConnectionString;
        await using var store = await StoreHost.StartAsync(chat => chat.AddPostgresStorage(o =>
        {
            o.ConnectionString = primary;
            o.ReadConnectionString = readConnection;
        }));
        var contact = await store.Conversations.ResolveContactAsync("shop-1", new ChannelIdentity("web", "v1"), null, CancellationToken.None);
        var conversation = await store.Conversations.GetOrCreateConversationAsync("shop-1", contact.Id, "web", CancellationToken.None);

        // The write succeeds, so it went to the primary: the standby is read-only.
        var stored = await store.Messages.AppendAsync(StoreConformanceTests.Message(conversation, "hi", "c1"), CancellationToken.None);

        // A strong read right after the acknowledgement sees it.
        var strong = await store.Messages.ReadAfterAsync(new MessageQuery { TenantId = "shop-1", ConversationId = conversation.Id }, CancellationToken.None);
        Assert.Equal(stored.Message.Id, Assert.Single(strong).Id);

        // A relaxed read is served by the standby, and sees the message once the standby has replayed the write.
        await WaitForStandbyAsync(primary, standby);
        var relaxedQuery = new MessageQuery { TenantId = "shop-1", ConversationId = conversation.Id, Consistency = ReadConsistency.Relaxed };
        var relaxed = await store.Messages.ReadAfterAsync(relaxedQuery, CancellationToken.None);
        Assert.Equal(stored.Message.Id, Assert.Single(relaxed).Id);
        var listed = await store.Conversations.ListConversationsAsync(new ConversationQuery { TenantId = "shop-1", Consistency = ReadConsistency.Relaxed }, CancellationToken.None);
        Assert.Equal(conversation.Id, Assert.Single(listed).Id);

        Assert.True(await IsInRecoveryAsync(standby));
        Assert.False(await IsInRecoveryAsync(primary));
        Assert.True(await ConnectionsNamedAsync(standby, readName) > 0, "the read pool's connections are on the standby");
        Assert.Equal(0, await ConnectionsNamedAsync(primary, readName));
    }

    [Fact]
    public async Task Two_nodes_on_one_database_lease_different_worker_numbers_and_give_them_back()
    {
        var (primary, _) = await PostgresServer.CreateDatabaseAsync();

        var a = await StoreHost.StartAsync(chat => chat.AddPostgresStorage(primary), workerId: 5);
        var b = await StoreHost.StartAsync(chat => chat.AddPostgresStorage(primary), workerId: 5);
        // An id's bits 12-21 are its worker number.
        var workerA = (int)((a.Services.GetRequiredService<IIdGenerator>().NextId() >> 12) & 1023);
        var workerB = (int)((b.Services.GetRequiredService<IIdGenerator>().NextId() >> 12) & 1023);

        Assert.NotEqual(workerA, workerB);
        Assert.Equal(2L, await CountLeasesAsync(primary));

        await a.DisposeAsync();
        await b.DisposeAsync();
        Assert.Equal(0L, await CountLeasesAsync(primary));
    }

    private static async Task<long> CountLeasesAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM chat.worker_leases WHERE expires_at > now()", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task WaitForStandbyAsync(string primary, string standby)
    {
        string lsn;
        await using (var connection = new NpgsqlConnection(primary))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT pg_current_wal_lsn()::text", connection);
            lsn = (string)(await command.ExecuteScalarAsync())!;
        }

        // Poll through the standby's postgres database: the test database itself may not have replicated yet.
        await using var replica = new NpgsqlConnection(PostgresServer.WithDatabase(standby, "postgres"));
        await replica.OpenAsync();
        for (var i = 0; i < 200; i++)
        {
            await using var command = new NpgsqlCommand("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", replica);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = lsn });
            if ((bool)(await command.ExecuteScalarAsync())!)
            {
                return;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"The standby did not replay up to {lsn} within 10 s.");
    }

    private static async Task<bool> IsInRecoveryAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT pg_is_in_recovery()", connection);
        return (bool)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<long> ConnectionsNamedAsync(string connectionString, string applicationName)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = applicationName });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
