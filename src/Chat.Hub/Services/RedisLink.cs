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
