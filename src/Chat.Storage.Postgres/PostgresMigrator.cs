using Chat.Storage.Internal;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Chat.Storage.Postgres;

/// <summary>
/// Applies the embedded, versioned SQL migrations (<c>Migrations/NNNN_name.sql</c>) in order, each once, each in its own
/// transaction, under a session advisory lock so several nodes starting together apply them once.
/// </summary>
internal sealed partial class PostgresMigrator(PostgresDataSources dataSources, ILogger<PostgresMigrator> logger)
{
    /// <summary>The advisory lock key: "chatmigr" in ASCII.</summary>
    private const long LockKey = 0x636861746D696772;

    public static IReadOnlyList<(int Version, string Name, string Sql)> Migrations { get; } =
        EmbeddedMigrations.Load(typeof(PostgresMigrator).Assembly, "Chat.Storage.Postgres.Migrations");

    public async Task ApplyAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSources.Primary.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await Execute(connection, $"SELECT pg_advisory_lock({LockKey})", cancellationToken).ConfigureAwait(false);
        try
        {
            await Execute(connection, """
                CREATE SCHEMA IF NOT EXISTS chat;
                CREATE TABLE IF NOT EXISTS chat.schema_migrations (
                    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                """, cancellationToken).ConfigureAwait(false);
            var applied = new HashSet<int>();
            await using (var command = new NpgsqlCommand("SELECT version FROM chat.schema_migrations", connection))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    applied.Add(reader.GetInt32(0));
                }
            }

            foreach (var (version, name, sql) in Migrations)
            {
                if (applied.Contains(version))
                {
                    continue;
                }

                await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await using (var command = new NpgsqlCommand(sql, connection, transaction))
                {
                    await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await using (var record = new NpgsqlCommand("INSERT INTO chat.schema_migrations (version, name) VALUES ($1, $2)", connection, transaction))
                {
                    record.Parameters.Add(new NpgsqlParameter<int> { TypedValue = version });
                    record.Parameters.Add(new NpgsqlParameter<string> { TypedValue = name });
                    await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                Log.MigrationApplied(logger, version, name);
            }
        }
        finally
        {
            await Execute(connection, $"SELECT pg_advisory_unlock({LockKey})", CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static async Task Execute(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Applied PostgreSQL migration {Version} ({Name})")]
        public static partial void MigrationApplied(ILogger logger, int version, string name);
    }
}
