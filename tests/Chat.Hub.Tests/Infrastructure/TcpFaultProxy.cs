using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Chat.Hub.Tests.Infrastructure;

/// <summary>A loopback TCP proxy in front of a test server that can cut every connection through it, as a network fault would.</summary>
public sealed class TcpFaultProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentDictionary<Socket, byte> _sockets = new();
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;
    private readonly int? _socketBufferBytes;
    private volatile TaskCompletionSource? _frozen;
    private volatile TaskCompletionSource? _frozenToClient;
    private volatile int _toClientBytesPerSecond;

    /// <param name="targetUrl">The server's address.</param>
    /// <param name="socketBufferBytes">The size of the proxy's socket buffers, or null for the system's: small ones
    /// keep what a slow link has not carried yet waiting in the server's socket, not in the proxy's.</param>
    public TcpFaultProxy(string targetUrl, int? socketBufferBytes = null)
    {
        _socketBufferBytes = socketBufferBytes;
        _targetPort = new Uri(targetUrl).Port;
        _listener.Start();
        _accept = Task.Run(AcceptAsync);
    }

    public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Resets every open connection through the proxy.</summary>
    public int CutAll()
    {
        var cut = 0;
        foreach (var socket in _sockets.Keys)
        {
            if (_sockets.TryRemove(socket, out _))
            {
                socket.LingerState = new LingerOption(true, 0);
                socket.Dispose();
                cut++;
            }
        }

        return cut;
    }

    /// <summary>Stops carrying bytes either way without closing anything, as a network that went dark would.</summary>
    public void Freeze() => _frozen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Stops carrying bytes from the server to the client only: what the client sends (its pings) still arrives, as from
    /// a client that keeps its connection alive but reads nothing.
    /// </summary>
    public void FreezeToClient() => _frozenToClient = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Carries bytes from the server to the client at most <paramref name="bytesPerSecond"/> (0: as fast as they come),
    /// as a slow network would: what the server sends meanwhile waits in its socket, not in the proxy.
    /// </summary>
    public void ThrottleToClient(int bytesPerSecond) => _toClientBytesPerSecond = bytesPerSecond;

    /// <summary>Carries bytes again, as a network that came back would (what each side sent meanwhile goes through).</summary>
    public void Thaw()
    {
        Interlocked.Exchange(ref _frozen, null)?.TrySetResult();
        Interlocked.Exchange(ref _frozenToClient, null)?.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        Thaw();
        _stop.Cancel();
        _listener.Stop();
        CutAll();
        try
        {
            await _accept;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptSocketAsync(_stop.Token);
            var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            if (_socketBufferBytes is { } bytes)
            {
                (server.ReceiveBufferSize, client.SendBufferSize) = (bytes, bytes);
            }

            try
            {
                await server.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
            }
            catch (SocketException)
            {
                client.Dispose();
                server.Dispose();
                continue;
            }

            _sockets[client] = 0;
            _sockets[server] = 0;
            _ = PumpAsync(client, server, toClient: false);
            _ = PumpAsync(server, client, toClient: true);
        }
    }

    private async Task PumpAsync(Socket from, Socket to, bool toClient)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var throttle = toClient ? _toClientBytesPerSecond : 0;
                var read = await from.ReceiveAsync(throttle > 0 ? buffer.AsMemory(0, 1024) : buffer, SocketFlags.None);
                if (read == 0)
                {
                    break;
                }

                if (throttle > 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds((double)read / throttle));
                }

                if (_frozen is { } frozen)
                {
                    await frozen.Task;
                }

                if (toClient && _frozenToClient is { } frozenToClient)
                {
                    await frozenToClient.Task;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }

        foreach (var socket in new[] { from, to })
        {
            if (_sockets.TryRemove(socket, out _))
            {
                socket.Dispose();
            }
        }
    }
}
