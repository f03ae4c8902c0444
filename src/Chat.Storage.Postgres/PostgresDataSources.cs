using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Chat.Storage.Postgres;

/// <summary>The one primary <see cref="NpgsqlDataSource"/>, and the read one when a read connection string is set.</summary>
internal sealed class PostgresDataSources : IAsyncDisposable
{
    public PostgresDataSources(IOptions<PostgresStorageOptions> options, ILoggerFactory loggerFactory)
    {
        var o = options.Value;
        Primary = Build(o.ConnectionString, loggerFactory);
        Read = string.IsNullOrWhiteSpace(o.ReadConnectionString) ? Primary : Build(o.ReadConnectionString, loggerFactory);
    }

    public NpgsqlDataSource Primary { get; }

    public NpgsqlDataSource Read { get; }

    public NpgsqlDataSource For(ReadConsistency consistency) => consistency == ReadConsistency.Relaxed ? Read : Primary;

    public async ValueTask DisposeAsync()
    {
        await Primary.DisposeAsync().ConfigureAwait(false);
        if (!ReferenceEquals(Read, Primary))
        {
            await Read.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static NpgsqlDataSource Build(string connectionString, ILoggerFactory loggerFactory)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        builder.UseLoggerFactory(loggerFactory);

        // The store sends a handful of statements over and over: let Npgsql prepare them (parse and plan once per
        // connection), unless the host chose otherwise.
        if (builder.ConnectionStringBuilder.MaxAutoPrepare == 0)
        {
            builder.ConnectionStringBuilder.MaxAutoPrepare = 32;
            builder.ConnectionStringBuilder.AutoPrepareMinUsages = 2;
        }

        // These connections are the store's own, and it leaves no session state on them (no SET, temporary tables,
        // LISTEN or session advisory lock outlives its use; the migrator releases its lock), so Npgsql need not reset
        // each one it takes from the pool: that reset is six statements in front of the next query (a webhook push
        // takes three pooled connections). A host that names the setting in its connection string keeps its choice.
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        if (!given.ContainsKey("No Reset On Close") && !given.ContainsKey("NoResetOnClose"))
        {
            builder.ConnectionStringBuilder.NoResetOnClose = true;
        }

        return builder.Build();
    }
}
