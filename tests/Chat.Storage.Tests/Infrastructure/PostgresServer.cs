using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using Npgsql;

namespace Chat.Storage.Tests.Infrastructure;

/// <summary>
/// The real PostgreSQL the tests use: <c>CHAT_TEST_POSTGRES</c> (and <c>CHAT_TEST_POSTGRES_STANDBY</c>) when set, as
/// ./test.sh does; otherwise a throwaway primary and streaming standby started here with build/pg-test-server.sh.
/// A server that cannot be had fails the tests; it never skips them. The databases made on a server given that way are
/// dropped with psql once the test process has ended, unless <c>CHAT_TEST_POSTGRES_KEEP_DATABASES</c> is 1 (./test.sh sets
/// it for its throwaway server, which it deletes whole).
/// </summary>
internal static class PostgresServer
{
    private static readonly Lazy<Task<(string Primary, string Standby)>> Server = new(StartAsync);
    private static readonly object DatabaseListLock = new();
    private static string? _databaseList;

    public static string RepoRoot { get; } =
        typeof(PostgresServer).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepoRoot").Value!;

    public static Task<(string Primary, string Standby)> GetAsync() => Server.Value;

    /// <summary>
    /// Creates a fresh database on the server (replicated to the standby) and returns both connection strings; with
    /// <paramref name="icuLocale"/> (such as <c>en-US</c>) the database's default collation is that ICU locale's.
    /// </summary>
    public static async Task<(string Primary, string Standby)> CreateDatabaseAsync(string? icuLocale = null)
    {
        var (primary, standby) = await GetAsync();
        var name = "chat_test_" + Guid.NewGuid().ToString("N");
        await using (var connection = new NpgsqlConnection(primary))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                icuLocale is null
                    ? $"CREATE DATABASE {name}"
                    : $"CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '{icuLocale}' LOCALE 'C.UTF-8'",
                connection);
            await command.ExecuteNonQueryAsync();
        }

        if (_databaseList is not null)
        {
            lock (DatabaseListLock)
            {
                File.AppendAllText(_databaseList, name + "\n");
            }
        }

        return (WithDatabase(primary, name), WithDatabase(standby, name));
    }

    public static string WithDatabase(string connectionString, string database) =>
        new NpgsqlConnectionStringBuilder(connectionString) { Database = database }.ConnectionString;

    /// <summary>Runs build/pg-test-server.sh with the given arguments and returns what it printed.</summary>
    public static async Task<string> ScriptAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(RepoRoot, "build", "pg-test-server.sh"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"pg-test-server.sh {string.Join(' ', arguments)} failed ({process.ExitCode}): {await error}");
        }

        return (await output).Trim();
    }

    /// <summary>
    /// Runs shell commands once this test process has ended, however it ends: a test runner may kill its test host
    /// before <see cref="AppDomain.ProcessExit"/> handlers finish, which left throwaway servers running.
    /// <paramref name="environment"/> is set in the shell's environment (not on its command line, which anyone may read).
    /// </summary>
    public static void WhenThisProcessEnds(string shellCommands, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var start = new ProcessStartInfo("setsid") { UseShellExecute = false };
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            start.Environment[name] = value;
        }

        start.ArgumentList.Add("bash");
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add($"exec </dev/null >/dev/null 2>&1; while kill -0 {Environment.ProcessId}; do sleep 1; done; {shellCommands}");
        Process.Start(start)!.Dispose();
    }

    /// <summary>A directory PostgreSQL's own user can reach.</summary>
    public static string NewClusterDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "chat-pg-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }

        return dir;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// Drops the databases this process makes on <paramref name="server"/> once it has ended. Not from a
    /// <see cref="AppDomain.ProcessExit"/> handler: the test runner kills its test host about 100 ms after the run, which
    /// cut such a handler short after a few of the databases.
    /// </summary>
    private static void DropDatabasesWhenThisProcessEnds(string server)
    {
        _databaseList = Path.Combine(Path.GetTempPath(), $"chat-test-databases-{Environment.ProcessId}-{Guid.NewGuid():N}.txt");
        File.WriteAllText(_databaseList, "");
        var b = new NpgsqlConnectionStringBuilder(server);
        WhenThisProcessEnds(
            "psql=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql | sort -V | tail -n 1); " +
            $"while read -r name; do \"$psql\" -qc \"DROP DATABASE IF EXISTS $name WITH (FORCE)\"; done < '{_databaseList}'; rm -f '{_databaseList}'",
            new Dictionary<string, string?>
            {
                ["PGHOST"] = b.Host,
                ["PGPORT"] = b.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["PGUSER"] = b.Username,
                ["PGPASSWORD"] = b.Password,
                ["PGDATABASE"] = b.Database,
            });
    }

    private static async Task<(string, string)> StartAsync()
    {
        var primary = Environment.GetEnvironmentVariable("CHAT_TEST_POSTGRES");
        if (!string.IsNullOrWhiteSpace(primary))
        {
            var standbyFromEnvironment = Environment.GetEnvironmentVariable("CHAT_TEST_POSTGRES_STANDBY");
            if (string.IsNullOrWhiteSpace(standbyFromEnvironment))
            {
                throw new InvalidOperationException("CHAT_TEST_POSTGRES is set but CHAT_TEST_POSTGRES_STANDBY is not; the read/write split tests need both.");
            }

            if (Environment.GetEnvironmentVariable("CHAT_TEST_POSTGRES_KEEP_DATABASES") != "1")
            {
                DropDatabasesWhenThisProcessEnds(primary);
            }

            return (primary, standbyFromEnvironment);
        }

        var dir = NewClusterDirectory();
        var primaryPort = FreePort();
        primary = await ScriptAsync("start", Path.Combine(dir, "primary"), primaryPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var standby = await ScriptAsync("standby", Path.Combine(dir, "standby"), FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            primaryPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var script = Path.Combine(RepoRoot, "build", "pg-test-server.sh");
        WhenThisProcessEnds($"bash '{script}' kill '{dir}/standby'; bash '{script}' kill '{dir}/primary'; rm -rf '{dir}'");
        return (primary, standby);
    }
}
