using Chat.Storage.Internal;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Chat.Storage.Sqlite;

/// <summary>
/// The SQLite file: WAL mode, one writer connection used under a lock (SQLite allows one writer), pooled connections
/// for reads. Migrations are applied the first time the database is used (at start-up, by the hosted service).
/// </summary>
internal sealed class SqliteDatabase : IAsyncDisposable
{
    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Lazy<Task<SqliteConnection>> _writer;

    public SqliteDatabase(IOptions<SqliteStorageOptions> options, TimeProvider time)
    {
        var builder = new SqliteConnectionStringBuilder(options.Value.ConnectionString)
        {
            Pooling = true,
            Mode = SqliteOpenMode.ReadWriteCreate,
            DefaultTimeout = 30,
        };
        _connectionString = builder.ToString();
        Time = time;
        _writer = new Lazy<Task<SqliteConnection>>(OpenWriterAsync, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public TimeProvider Time { get; }

    public long NowMilliseconds() => Time.GetUtcNow().ToUnixTimeMilliseconds();

    public Task InitializeAsync() => _writer.Value;

    /// <summary>Runs work in one write transaction (BEGIN IMMEDIATE) on the single writer connection.</summary>
    public async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, T> work, CancellationToken cancellationToken)
    {
        var writer = await _writer.Value.ConfigureAwait(false);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var transaction = writer.BeginTransaction(deferred: false);
            var result = work(writer, transaction);
            transaction.Commit();
            return result;
        }
        catch (SqliteException ex)
        {
            throw new ChatStorageException($"SQLite could not write: {ex.Message}", ex);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Opens a pooled connection for reading; WAL lets reads run beside the writer.</summary>
    public async Task<SqliteConnection> OpenReadAsync(CancellationToken cancellationToken)
    {
        await _writer.Value.ConfigureAwait(false);
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        if (_writer.IsValueCreated && _writer.Value.IsCompletedSuccessfully)
        {
            await _writer.Value.Result.DisposeAsync().ConfigureAwait(false);
        }

        _writeLock.Dispose();
    }

    private async Task<SqliteConnection> OpenWriterAsync()
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync().ConfigureAwait(false);
        Execute(connection, null, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 30000;");
        Execute(connection, null, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
        foreach (var (version, name, sql) in EmbeddedMigrations.Load(typeof(SqliteDatabase).Assembly, "Chat.Storage.Sqlite.Migrations"))
        {
            using var transaction = connection.BeginTransaction(deferred: false);
            using var check = connection.CreateCommand();
            check.Transaction = transaction;
            check.CommandText = "SELECT count(*) FROM schema_migrations WHERE version = $v";
            check.Parameters.AddWithValue("$v", version);
            if ((long)check.ExecuteScalar()! == 0)
            {
                Execute(connection, transaction, sql);
                using var record = connection.CreateCommand();
                record.Transaction = transaction;
                record.CommandText = "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($v, $n, $t)";
                record.Parameters.AddWithValue("$v", version);
                record.Parameters.AddWithValue("$n", name);
                record.Parameters.AddWithValue("$t", NowMilliseconds());
                record.ExecuteNonQuery();
            }

            transaction.Commit();
        }

        return connection;
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
