using System.Diagnostics;
using Chat.Storage.Tests.Infrastructure;

namespace Chat.Hub.Tests.Infrastructure;

/// <summary>
/// The real Redis the scale-out tests use: <c>CHAT_TEST_REDIS</c> when set (as ./test.sh does), otherwise a
/// redis-server started here on a free loopback port. No server means a failing test, never a skipped one.
/// </summary>
internal static class RedisServer
{
    private static readonly Lazy<string> Server = new(Start);

    public static string Configuration => Server.Value;

    private static string Start()
    {
        var configured = Environment.GetEnvironmentVariable("CHAT_TEST_REDIS");
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return configured;
        }

        var port = PostgresServer.FreePort();
        var start = new ProcessStartInfo("redis-server") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" })
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("redis-server is not installed and CHAT_TEST_REDIS is not set; ./test.sh installs and starts one.", ex);
        }

        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        PostgresServer.WhenThisProcessEnds($"kill {process.Id}");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var client = new System.Net.Sockets.TcpClient("127.0.0.1", port);
                return $"127.0.0.1:{port}";
            }
            catch (System.Net.Sockets.SocketException)
            {
                Thread.Sleep(50);
            }
        }

        throw new InvalidOperationException($"redis-server did not start on port {port}.");
    }
}
