using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using Npgsql;

namespace Chat.Storage.Tests.Infrastructure;

/// <summary>
/// The real PostgreSQL the tests use: <c>CHAT_TEST_POSTGRES</c> (and <c>CHAT_TEST_POSTGRES_STANDBY</c>) when set, as
/// ./test.sh does; otherwise a throwaway primary and streaming standby started here with build/pg-test-server.sh.
/// A server that cannot be had fails the tests; it never skips them.
/// </summary>
internal static class PostgresServer
{
    private static readonly Lazy<Task<(string Primary, string Standby)>> Server = new(StartAsync);

    public static string RepoRoot { get; } =
        typeof(PostgresServer).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepoRoot").Value!;

    public static Task<(string Primary, string Standby)> GetAsync() => Server.Value;

    /// <summary>Creates a fresh database on the server (replicated to the standby) and returns both connection strings.</summary>
    public static async Task<(string Primary, string Standby)> CreateDatabaseAsync()
    {
        var (primary, standby) = await GetAsync();
        var name = "chat_test_" + Guid.NewGuid().ToString("N");
        await using (var connection = new NpgsqlConnection(primary))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync();
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
    /// </summary>
    public static void WhenThisProcessEnds(string shellCommands)
    {
        var start = new ProcessStartInfo("setsid") { UseShellExecute = false };
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
