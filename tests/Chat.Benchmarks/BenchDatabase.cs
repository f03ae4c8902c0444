using Npgsql;

namespace Chat.Benchmarks;

/// <summary>A database of its own for one measured run, dropped at the end (the server may be the user's own).</summary>
internal sealed class BenchDatabase
{
    private readonly string _server;
    private readonly string _name = "chat_bench_" + Guid.NewGuid().ToString("N");

    private BenchDatabase(string server) => _server = server;

    /// <summary>Creates a database, adds it to <paramref name="created"/> and returns its connection string.</summary>
    public static async Task<string> CreateAsync(string server, string? icuLocale, List<BenchDatabase> created)
    {
        if (icuLocale is not null && !System.Text.RegularExpressions.Regex.IsMatch(icuLocale, "^[A-Za-z0-9_@=-]+$"))
        {
            throw new ArgumentException($"--icu-locale '{icuLocale}' is not a locale name such as en-US.", nameof(icuLocale));
        }

        var database = new BenchDatabase(server);
        await ExecuteAsync(server, icuLocale is null
            ? $"CREATE DATABASE {database._name}"
            : $"CREATE DATABASE {database._name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '{icuLocale}' LOCALE 'C.UTF-8'");
        created.Add(database);
        return new NpgsqlConnectionStringBuilder(server) { Database = database._name, MaxPoolSize = 100 }.ConnectionString;
    }

    /// <summary>Drops the databases a command made (after closing the pooled connections to them).</summary>
    public static async Task DropAllAsync(List<BenchDatabase> created)
    {
        NpgsqlConnection.ClearAllPools();
        foreach (var database in created)
        {
            await ExecuteAsync(database._server, $"DROP DATABASE IF EXISTS {database._name} WITH (FORCE)");
        }
    }

    /// <summary>Runs one statement on a database of the server.</summary>
    public static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
