using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Chat.Hub.Services;

/// <summary>
/// Tells the other nodes which of this node's agents take conversations (online, with capacity), and hears the same
/// from them (<see cref="AgentRegistry"/>), through one Redis channel: a node assigns a customer's conversation to any
/// available agent of the tenant, wherever that agent is connected.
/// </summary>
/// <remarks>
/// Each node publishes the whole list of its available agents when it changes and every <c>heartbeat</c> (5 s); a
/// list holds for three heartbeats, so the agents of a node that died without a word stop being given conversations
/// within 15 s. A node that stops publishes an empty list. While Redis is unreachable each node assigns only to its
/// own agents, as with one node.
/// </remarks>
internal sealed partial class AgentPresenceReplica : BackgroundService
{
    private static readonly RedisChannel Channel = RedisChannel.Literal("Chat.AgentPresence");

    private readonly RedisLink _redis;
    private readonly AgentRegistry _registry;
    private readonly ILogger<AgentPresenceReplica> _logger;
    private readonly TimeSpan _heartbeat;
    private readonly Channel<bool> _changed = System.Threading.Channels.Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    private bool _failing;

    public AgentPresenceReplica(RedisLink redis, AgentRegistry registry, ILogger<AgentPresenceReplica> logger)
        : this(redis, registry, logger, TimeSpan.FromSeconds(5))
    {
    }

    internal AgentPresenceReplica(RedisLink redis, AgentRegistry registry, ILogger<AgentPresenceReplica> logger, TimeSpan heartbeat)
    {
        _redis = redis;
        _registry = registry;
        _logger = logger;
        _heartbeat = heartbeat;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        // Leaving: the other nodes stop giving this node's agents conversations now, not when the list runs out.
        if (_redis.ConnectionIfReady is { } connection)
        {
            try
            {
                await connection.GetSubscriber().PublishAsync(Channel, Write([], TimeSpan.Zero)).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or OperationCanceledException or ObjectDisposedException)
            {
                LogPublishFailed(_logger, ex);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        void OnChanged() => _changed.Writer.TryWrite(true);
        _registry.Changed += OnChanged;
        try
        {
            var subscribed = false;
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    var connection = await _redis.Connection.WaitAsync(stoppingToken).ConfigureAwait(false);
                    if (!subscribed)
                    {
                        await _redis.SubscribeAsync(Channel, Receive, ex => LogReadFailed(_logger, ex)).ConfigureAwait(false);
                        subscribed = true;
                    }

                    await connection.GetSubscriber().PublishAsync(Channel, Write(_registry.LocalAvailable(), _heartbeat)).ConfigureAwait(false);
                    _failing = false;
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    // Redis unreachable: this node's agents are not given the other nodes' conversations meanwhile.
                    if (!_failing)
                    {
                        _failing = true;
                        LogPublishFailed(_logger, ex);
                    }
                }

                // Until the next heartbeat, or sooner when this node's agents change.
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                wait.CancelAfter(_heartbeat);
                try
                {
                    await _changed.Reader.ReadAsync(wait.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _registry.Changed -= OnChanged;
        }
    }

    private ReadOnlyMemory<byte> Write(IReadOnlyList<AvailableAgent> agents, TimeSpan heartbeat) =>
        _redis.Message((agents, heartbeat), static (writer, report) =>
        {
            writer.WriteNumber("h"u8, (long)report.heartbeat.TotalMilliseconds);
            writer.WriteStartArray("a"u8);
            foreach (var agent in report.agents)
            {
                writer.WriteStartObject();
                writer.WriteString("t"u8, agent.TenantId);
                writer.WriteString("i"u8, agent.AgentId);
                writer.WriteNumber("c"u8, agent.Capacity);
                writer.WriteStartArray("m"u8);
                foreach (var team in agent.Teams)
                {
                    writer.WriteStringValue(team);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        });

    /// <summary>Reads another node's report (throws for one it cannot read; the link logs it and reads the next).</summary>
    private ValueTask Receive(JsonElement report)
    {
        var agents = new List<AvailableAgent>();
        foreach (var agent in report.GetProperty("a"u8).EnumerateArray())
        {
            var capacity = agent.GetProperty("c"u8).GetInt32();
            agents.Add(new AvailableAgent(
                agent.GetProperty("t"u8).GetString()!,
                agent.GetProperty("i"u8).GetString()!,
                capacity is > 0 and <= 1000 ? capacity : throw new JsonException($"Capacity {capacity} is out of range."),
                [.. agent.GetProperty("m"u8).EnumerateArray().Select(static t => t.GetString()!)]));
        }

        // The list holds for three of the sender's heartbeats (at most a minute).
        var holds = TimeSpan.FromMilliseconds(Math.Clamp(report.GetProperty("h"u8).GetInt64(), 0, 20_000) * 3);
        _registry.SetRemote(report.GetProperty("n"u8).GetString()!, agents, Stopwatch.GetTimestamp() + (long)(holds.TotalSeconds * Stopwatch.Frequency));
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(EventId = 46, Level = LogLevel.Warning, Message = "Could not tell the other nodes which agents of this node take conversations; they assign only to their own until Redis is back. Not logged again until it works.")]
    private static partial void LogPublishFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 47, Level = LogLevel.Warning, Message = "Could not read another node's report of its available agents; it was skipped.")]
    private static partial void LogReadFailed(ILogger logger, Exception exception);
}
