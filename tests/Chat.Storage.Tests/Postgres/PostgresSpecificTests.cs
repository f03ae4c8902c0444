using Chat.Storage.Postgres;
using Chat.Storage.Tests.Conformance;
using Chat.Storage.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Chat.Storage.Tests.Postgres;

/// <summary>What only the PostgreSQL store has: concurrent migrations, byte-order identifiers, the read/write split, worker leases.</summary>
public sealed class PostgresSpecificTests
{
    [Theory]
    [InlineData("Host=db;Username=chat", true, 32)]
    [InlineData("Host=db;Username=chat;No Reset On Close=false;Max Auto Prepare=5", false, 5)]
    [InlineData("Host=db;Username=chat;NoResetOnClose=false", false, 32)]
    public async Task The_stores_connections_skip_the_reset_and_prepare_statements_unless_the_host_says_otherwise(string connectionString, bool noReset, int autoPrepare)
    {
        await using var sources = new Chat.Storage.Postgres.PostgresDataSources(
            Microsoft.Extensions.Options.Options.Create(new Chat.Storage.Postgres.PostgresStorageOptions { ConnectionString = connectionString }),
            Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        var settings = new Npgsql.NpgsqlConnectionStringBuilder(sources.Primary.ConnectionString);
        Assert.Equal((noReset, autoPrepare), (settings.NoResetOnClose, settings.MaxAutoPrepare));
    }

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
    public async Task A_customer_is_found_by_keys_alone_even_before_the_tables_are_analyzed()
    {
        // A new database in its first minute: thousands of customers, no statistics yet (autovacuum has not run). The
        // store's statements are prepared, so PostgreSQL may plan them once for any parameters (a generic plan).
        var (primary, _) = await PostgresServer.CreateDatabaseAsync();
        await using var store = await StoreHost.StartAsync(chat => chat.AddPostgresStorage(primary));
        await using var connection = new NpgsqlConnection(primary);
        await connection.OpenAsync();
        await using (var fill = new NpgsqlCommand("""
            ALTER TABLE chat.channel_identities SET (autovacuum_enabled = false);
            ALTER TABLE chat.contacts SET (autovacuum_enabled = false);
            ALTER TABLE chat.conversations SET (autovacuum_enabled = false);
            INSERT INTO chat.tenants (tenant_id) VALUES ('shop');
            INSERT INTO chat.contacts (tenant_id, id) SELECT 'shop', g FROM generate_series(1, 2000) g;
            INSERT INTO chat.channel_identities (tenant_id, channel_id, platform_user_id, contact_id) SELECT 'shop', 'web', 'v' || g, g FROM generate_series(1, 2000) g;
            INSERT INTO chat.conversations (tenant_id, id, channel_id, contact_id) SELECT 'shop', 10000 + g, 'web', g FROM generate_series(1, 2000) g;
            """, connection))
        {
            await fill.ExecuteNonQueryAsync();
        }

        // A returning customer's conversation, and a customer's contact (which a new customer's look-up misses first).
        var found = await store.Conversations.ResolveConversationAsync("shop", new ChannelIdentity("web", "v1234"), null, CancellationToken.None);
        Assert.Equal((1234L, 11234L), (found.Contact.Id, found.Conversation.Id));
        Assert.Equal(1235L, (await store.Conversations.FindContactAsync("shop", new ChannelIdentity("web", "v1235"), CancellationToken.None))?.Id);
        Assert.Null(await store.Conversations.FindContactAsync("shop", new ChannelIdentity("web", "v9999"), CancellationToken.None));

        Assert.Equal(
            ["channel_identities_pkey", "contacts_pkey", "conversations_tenant_id_contact_id_channel_id_key"],
            await GenericPlanIndexesAsync(connection, PostgresConversationStore.ResolveSql));
        Assert.Equal(["channel_identities_pkey", "contacts_pkey"], await GenericPlanIndexesAsync(connection, PostgresConversationStore.FindContactSql));

        // Its statistics still unread: the plans above were made without them.
        await using var stats = new NpgsqlCommand("SELECT reltuples FROM pg_class WHERE oid = 'chat.channel_identities'::regclass", connection);
        Assert.Equal(-1f, (float)(await stats.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task The_batched_statements_are_planned_once_per_connection_even_for_batches_of_one()
    {
        // PostgreSQL plans a function's statement for each call's own arrays (a custom plan) on its first five calls, and
        // on while that looks cheaper, as it does for a batch of one: planning the append then cost as much as running it.
        // A plan made once for any arrays names them as parameters ($1); a custom plan shows the call's constants.
        var (primary, _) = await PostgresServer.CreateDatabaseAsync();
        await using var store = await StoreHost.StartAsync(chat => chat.AddPostgresStorage(primary));
        var contact = await store.Conversations.ResolveContactAsync("shop", new ChannelIdentity("web", "v1"), null, CancellationToken.None);
        var conversation = await store.Conversations.GetOrCreateConversationAsync("shop", contact.Id, "web", CancellationToken.None);

        await using var connection = new NpgsqlConnection(primary);
        await connection.OpenAsync();
        var plans = new List<string>();
        connection.Notice += (_, e) => plans.Add(e.Notice.MessageText);
        await using (var explain = new NpgsqlCommand("""
            LOAD 'auto_explain';
            SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on; SET auto_explain.log_verbose = on;
            SET client_min_messages = log;
            """, connection))
        {
            await explain.ExecuteNonQueryAsync();
        }

        // One message's columns, as the append functions take them (a platform message id of NULL: none).
        string Columns(long id, string clientId, string platformId) =>
            $"'{{0}}', '{{shop}}', '{{{conversation.Id}}}', '{{{id}}}', '{{web}}', '{{0}}', '{{0}}', '{{v1}}', '{{NULL}}', '{{0}}', '{{hi}}', '{{{clientId}}}', '{{{platformId}}}', '{{NULL}}', '{{NULL}}'";

        const int Calls = 7;
        for (var i = 1; i <= Calls; i++)
        {
            // One message on each path: the fast one, then the careful one (which looks retries up first). The careful
            // path's message carries a platform message id, which the look-up of a platform's retried push then finds
            // (and another id it does not).
            var columns = Columns(1000 + i, $"c{i}", "NULL");
            var careful = Columns(2000 + i, $"d{i}", $"p{i}");
            await using var append = new NpgsqlCommand($$"""
                SELECT r_seq FROM chat.append_batch_fast({{columns}}, '{1}', '{shop}', '{{{conversation.Id}}}', '{1}');
                SELECT r_seq FROM chat.append_batch(true, {{careful}});
                SELECT r_seq, r_idx FROM chat.find_platform_messages('{shop,shop}', '{web,web}', '{p{{i}},missing}');
                """, connection);
            await using var reader = await append.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal((2 * i) - 1, reader.GetInt64(0));
            Assert.True(await reader.NextResultAsync() && await reader.ReadAsync());
            Assert.Equal(2 * i, reader.GetInt64(0));
            Assert.True(await reader.NextResultAsync() && await reader.ReadAsync());
            Assert.Equal((2L * i, 1L), (reader.GetInt64(0), reader.GetInt64(1)));
            Assert.False(await reader.ReadAsync());
        }

        // Each call's statements (the fast path's one, the careful path's lock and its insert, the look-up) read the arrays
        // as parameters.
        var statements = plans.Where(p => p.Contains("Function Call: unnest(", StringComparison.Ordinal)).ToList();
        Assert.Equal(4 * Calls, statements.Count);
        Assert.All(statements, plan =>
        {
            Assert.Contains("unnest($", plan, StringComparison.Ordinal);
            Assert.DoesNotContain("'::text[]", plan, StringComparison.Ordinal);
        });
    }

    /// <summary>The indexes that the generic plan of a statement on (tenant, channel, platform user) reads, in order; no sequential scan.</summary>
    private static async Task<string[]> GenericPlanIndexesAsync(NpgsqlConnection connection, string sql)
    {
        await using var plan = new NpgsqlCommand($"""
            SET plan_cache_mode = force_generic_plan;
            PREPARE statement(text, text, text) AS {sql};
            EXPLAIN (FORMAT JSON) EXECUTE statement('shop', 'web', 'v1234');
            DEALLOCATE statement;
            """, connection);
        await using var reader = await plan.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        var json = reader.GetString(0);
        var nodes = new List<(string Type, string? Index)>();
        void Walk(System.Text.Json.JsonElement node)
        {
            nodes.Add((node.GetProperty("Node Type").GetString()!, node.TryGetProperty("Index Name", out var index) ? index.GetString() : null));
            if (node.TryGetProperty("Plans", out var children))
            {
                foreach (var child in children.EnumerateArray())
                {
                    Walk(child);
                }
            }
        }

        Walk(System.Text.Json.JsonDocument.Parse(json).RootElement[0].GetProperty("Plan"));
        Assert.DoesNotContain(nodes, n => n.Type == "Seq Scan");
        return [.. nodes.Where(n => n.Index is not null).Select(n => n.Index!).Order(StringComparer.Ordinal)];
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

    [Fact]
    public async Task Identifiers_compare_byte_by_byte_in_a_linguistic_database_and_an_upgraded_one_still_finds_its_retries()
    {
        // A database whose default collation is linguistic (en-US sorts "apple" before "Zebra"; bytes put "Z" first),
        // holding a conversation written by version 1 of the schema, whose identifier indexes used that collation.
        var (primary, _) = await PostgresServer.CreateDatabaseAsync(icuLocale: "en-US");
        await using (var connection = new NpgsqlConnection(primary))
        {
            await connection.OpenAsync();
            var version1 = PostgresMigrator.Migrations.Single(m => m.Version == 1);
            await using var command = new NpgsqlCommand($$"""
                {{version1.Sql}};
                CREATE TABLE chat.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
                INSERT INTO chat.schema_migrations (version, name) VALUES (1, '{{version1.Name}}');
                INSERT INTO chat.contacts (tenant_id, id) VALUES ('shop', 7);
                INSERT INTO chat.channel_identities (tenant_id, channel_id, platform_user_id, contact_id) VALUES ('shop', 'web', 'v7', 7);
                INSERT INTO chat.conversations (tenant_id, id, channel_id, contact_id, last_seq) VALUES ('shop', 70, 'web', 7, 2);
                INSERT INTO chat.messages (tenant_id, conversation_id, seq, id, channel_id, direction, sender_kind, sender_id, kind, content, client_message_id, created_at)
                VALUES ('shop', 70, 1, 701, 'web', 0, 0, '7', 0, 'first', 'Zebra', now()),
                       ('shop', 70, 2, 702, 'web', 0, 0, '7', 0, 'second', 'apple', now());
                """, connection);
            await command.ExecuteNonQueryAsync();
        }

        await using var store = await StoreHost.StartAsync(chat => chat.AddPostgresStorage(primary));

        // Version 2 was applied on start-up: every identifier column, and so every index key on one, compares bytes
        // (the audit log of version 3 is made that way).
        Assert.Equal(
            ["audit_log.action", "audit_log.actor_id", "audit_log.tenant_id", "channel_identities.channel_id", "channel_identities.platform_user_id", "channel_identities.tenant_id",
             "contacts.tenant_id", "conversations.assignee_id", "conversations.channel_id", "conversations.team_id",
             "conversations.tenant_id", "messages.channel_id", "messages.client_message_id", "messages.platform_message_id",
             "messages.sender_id", "messages.tenant_id", "outbox.channel_id", "outbox.tenant_id", "tenants.tenant_id",
             "worker_leases.tenant_id"],
            await QueryStringsAsync(primary, """
                SELECT c.relname || '.' || a.attname FROM pg_attribute a
                  JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'chat' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
                   AND a.atttypid = 'text'::regtype AND a.attcollation = 'pg_catalog."C"'::regcollation
                 ORDER BY (c.relname || '.' || a.attname) COLLATE "C"
                """));
        Assert.Empty(await QueryStringsAsync(primary, """
            SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace
             CROSS JOIN LATERAL unnest(x.indcollation::oid[]) AS k(coll)
             WHERE n.nspname = 'chat' AND k.coll <> 0 AND k.coll <> 'pg_catalog."C"'::regcollation
            """));

        // The rebuilt unique index still finds the messages version 1 stored: their retries are duplicates, and a
        // client message id that differs only in case is a new message with the next seq.
        var contact = await store.Conversations.ResolveContactAsync("shop", new ChannelIdentity("web", "v7"), null, CancellationToken.None);
        var conversation = await store.Conversations.GetOrCreateConversationAsync("shop", contact.Id, "web", CancellationToken.None);
        Assert.Equal(70, conversation.Id);
        var zebra = await store.Messages.AppendAsync(StoreConformanceTests.Message(conversation, "first", "Zebra"), CancellationToken.None);
        var apple = await store.Messages.AppendAsync(StoreConformanceTests.Message(conversation, "second", "apple"), CancellationToken.None);
        var appleAgain = await store.Messages.AppendAsync(StoreConformanceTests.Message(conversation, "second", "apple"), CancellationToken.None);
        var capitalApple = await store.Messages.AppendAsync(StoreConformanceTests.Message(conversation, "third", "Apple"), CancellationToken.None);
        Assert.Equal((true, 701L, 1L), (zebra.IsDuplicate, zebra.Message.Id, zebra.Message.Seq));
        Assert.Equal((true, 702L, 2L), (apple.IsDuplicate, apple.Message.Id, apple.Message.Seq));
        Assert.Equal((true, 702L, 2L), (appleAgain.IsDuplicate, appleAgain.Message.Id, appleAgain.Message.Seq));
        Assert.Equal((false, 3L), (capitalApple.IsDuplicate, capitalApple.Message.Seq));
        var history = await store.Messages.ReadAfterAsync(new MessageQuery { TenantId = "shop", ConversationId = 70 }, CancellationToken.None);
        Assert.Equal(["Zebra", "apple", "Apple"], history.Select(m => m.ClientMessageId));
    }

    private static async Task<List<string>> QueryStringsAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
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
