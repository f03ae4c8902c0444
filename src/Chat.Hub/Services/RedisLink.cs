using System.Text.Json;
using Microsoft.AspNetCore.SignalR.StackExchangeRedis;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chat.Hub.Services;

/// <summary>
/// This node's own Redis connection for what the framework carries between nodes besides SignalR's backplane (the
/// agents' feed, agents' presence), on the backplane's configuration. Connects as the host starts, without waiting:
/// while Redis is down it keeps trying, as SignalR's backplane does.
/// </summary>
internal sealed class RedisLink : IHostedService, IAsyncDisposable
{
    private readonly Lazy<Task<IConnectionMultiplexer>> _connection;

    public RedisLink(IOptions<RedisOptions> options)
    {
        var redis = options.Value;
        _connection = new Lazy<Task<IConnectionMultiplexer>>(() => redis.ConnectionFactory is { } factory
            ? factory(TextWriter.Null)
            : ConnectAsync(redis.Configuration));
    }

    /// <summary>This node's id in what it publishes, so it can skip its own messages coming back.</summary>
    public string NodeId { get; } = Guid.NewGuid().ToString("N");

    /// <summary>The connection (a task completed once it is set up, connected to Redis or still trying).</summary>
    public Task<IConnectionMultiplexer> Connection => _connection.Value;

    /// <summary>The connection if it is set up, otherwise null.</summary>
    public IConnectionMultiplexer? ConnectionIfReady => _connection.IsValueCreated && _connection.Value.IsCompletedSuccessfully ? _connection.Value.Result : null;

    /// <summary>
    /// A message for the other nodes: a JSON object with this node's id (<c>n</c>), then the properties
    /// <paramref name="writeBody"/> writes.
    /// </summary>
    public ReadOnlyMemory<byte> Message<TState>(TState state, Action<Utf8JsonWriter, TState> writeBody)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("n"u8, NodeId);
            writeBody(writer, state);
            writer.WriteEndObject();
        }

        return buffer.WrittenMemory;
    }

    /// <summary>
    /// Subscribes to a channel: <paramref name="handle"/> gets each message another node published there (this node's
    /// own are skipped), one at a time, in order. A message that is not JSON, or that <paramref name="handle"/> cannot
    /// read, goes to <paramref name="unreadable"/>, and the next one is read.
    /// </summary>
    public async Task SubscribeAsync(RedisChannel channel, Func<JsonElement, ValueTask> handle, Action<Exception> unreadable)
    {
        var connection = await Connection.ConfigureAwait(false);
        var queue = await connection.GetSubscriber().SubscribeAsync(channel).ConfigureAwait(false);
        queue.OnMessage(async message =>
        {
            try
            {
                using var document = JsonDocument.Parse((ReadOnlyMemory<byte>)message.Message);
                if (!document.RootElement.GetProperty("n"u8).ValueEquals(NodeId))
                {
                    await handle(document.RootElement).ConfigureAwait(false);
                }
            }
            catch (Exception ex)
            {
                // Whatever another node (or anything else) put on the channel, the next message must still be read.
                unreadable(ex);
            }
        });
    }

    /// <summary>
    /// Subscribes as <see cref="SubscribeAsync"/> does, trying again every <paramref name="retryInterval"/> until it
    /// works or <paramref name="stoppingToken"/> is cancelled; the first failure of a run of them goes to
    /// <paramref name="failed"/>. Once subscribed, the Redis client subscribes again by itself after a reconnect.
    /// </summary>
    public async Task SubscribeWithRetriesAsync(RedisChannel channel, Func<JsonElement, ValueTask> handle, Action<Exception> unreadable, Action<Exception> failed,
        TimeSpan retryInterval, CancellationToken stoppingToken)
    {
        var failing = false;
        while (true)
        {
            try
            {
                await SubscribeAsync(channel, handle, unreadable).WaitAsync(stoppingToken).ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                if (!failing)
                {
                    failing = true;
                    failed(ex);
                }

                // The client may keep the failed attempt and subscribe it when Redis is back: dropped, so the next
                // attempt subscribes once, not twice.
                _ = ConnectionIfReady?.GetSubscriber().UnsubscribeAsync(channel, handler: null, CommandFlags.FireAndForget);
            }

            try
            {
                await Task.Delay(retryInterval, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = _connection.Value;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (ConnectionIfReady is { } connection)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task<IConnectionMultiplexer> ConnectAsync(ConfigurationOptions configuration)
    {
        var options = configuration.Clone();
        options.AbortOnConnectFail = false;
        return await ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false);
    }
}
