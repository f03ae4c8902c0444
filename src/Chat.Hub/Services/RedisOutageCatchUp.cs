using System.Collections.Concurrent;
using System.Diagnostics;
using Chat.Hub.Hubs;
using Chat.Internal;
using Chat.Protocol;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Chat.Hub.Services;

/// <summary>
/// Tells clients to catch up when pushes between nodes may have been lost (with <c>AddRedisBackplane</c>). Redis keeps
/// no pub/sub message: while a node's link to it is down, that node's connections miss the other nodes' pushes (an
/// agent's reply to a customer on this node, a customer's message to an agent here) and the other nodes' connections
/// miss this node's. A client sees a missed push only when the conversation's next message shows it the gap, and a
/// customer waiting for a lost answer may never send one. So once the link is back, the node tells its own
/// connections, and asks the other nodes (channel <c>Chat.CatchUp</c>) to tell theirs, to catch up from <c>Resume</c>
/// as after a reconnect (<see cref="ChatHubMethods.CatchUp"/>), each at a random moment within a spread of a
/// millisecond per connection of its node (at least 1 s, at most 30 s), so that a node's thousands of clients do not
/// all read at once. The telling also says how long ago pushes may have been lost from (how long the link was down,
/// and the wait since), so a client that lists its conversations to find what changed need go no further back.
/// </summary>
internal sealed partial class RedisOutageCatchUp(RedisLink redis, ChatConnections connections, IHubContext<AgentHub> agents, IHubContext<CustomerHub> customers,
    ILogger<RedisOutageCatchUp> logger) : BackgroundService
{
    private static readonly RedisChannel Channel = RedisChannel.Literal("Chat.CatchUp");
    private static readonly TimeSpan LeastSpread = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MostSpread = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan SpreadPerConnection = TimeSpan.FromMilliseconds(1);

    // How long the node waits, once its link is back, before telling: meanwhile the Redis client subscribes to the
    // node's channels again, so what the other nodes publish after its clients have read reaches them live.
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(1);

    // How long an ask may take between the nodes, for how far back their clients are told to look.
    private static readonly TimeSpan AskTransit = TimeSpan.FromSeconds(1);

    // How far back a client is told to look when the node cannot say (another node's ask without the figure).
    private static readonly TimeSpan UnknownOutage = TimeSpan.FromMinutes(10);

    private readonly ConcurrentDictionary<ConnectionType, long> _failedAt = new(); // Stopwatch timestamps of each link's failure
    private int _scheduled; // 1 while a telling waits to go out: a later reason to tell joins it
    private int _askOthers; // 1 when the telling that goes out next asks the other nodes too
    private long _lostForTicks; // the longest outage the telling that goes out next is about
    private CancellationToken _stopping;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _stopping = stoppingToken;
        IConnectionMultiplexer connection;
        try
        {
            connection = await redis.Connection.WaitAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex)
        {
            // The link could not even be set up (its configuration): nothing to come back, and nothing to subscribe to.
            LogSubscribeFailed(logger, ex);
            return;
        }

        // Raised for each of the client's two connections (commands, subscriptions) that comes back; the two join one
        // telling, which waits a moment as the connection may not be usable yet when the event is raised.
        connection.ConnectionFailed += OnFailed;
        connection.ConnectionRestored += OnRestored;
        await redis.SubscribeWithRetriesAsync(Channel, ask =>
        {
            var lostFor = ask.TryGetProperty("lostForMs"u8, out var ms) && ms.TryGetInt64(out var value) && value >= 0
                ? TimeSpan.FromMilliseconds(value)
                : UnknownOutage;
            Schedule(askOthers: false, lostFor);
            return ValueTask.CompletedTask;
        }, ex => LogReadFailed(logger, ex), ex => LogSubscribeFailed(logger, ex), TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Tells this node's clients to catch up, looking back <paramref name="lostFor"/>: another node stopped without
    /// shutting down and may not have pushed what it stored (<see cref="LapsedNodeRecovery"/>). Every node sees that for
    /// itself, so the other nodes are not asked.
    /// </summary>
    public void TellAfterNodeLost(TimeSpan lostFor) => Schedule(askOthers: false, lostFor);

    private void OnFailed(object? sender, ConnectionFailedEventArgs e) => _failedAt.TryAdd(e.ConnectionType, Stopwatch.GetTimestamp());

    private void OnRestored(object? sender, ConnectionFailedEventArgs e)
    {
        LogRestored(logger, e.ConnectionType);
        var lostFor = _failedAt.TryRemove(e.ConnectionType, out var failedAt) ? Stopwatch.GetElapsedTime(failedAt) : UnknownOutage;
        Schedule(askOthers: true, lostFor);
    }

    private void Schedule(bool askOthers, TimeSpan lostFor)
    {
        if (askOthers)
        {
            Volatile.Write(ref _askOthers, 1);
        }

        AtomicMax.Raise(ref _lostForTicks, lostFor.Ticks);

        if (Interlocked.Exchange(ref _scheduled, 1) == 0)
        {
            _ = TellAsync();
        }
    }

    private async Task TellAsync()
    {
        try
        {
            await Task.Delay(Settle, _stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        // From here a new reason to tell schedules a telling of its own: this one may go out before what it is about.
        Volatile.Write(ref _scheduled, 0);
        var lostFor = TimeSpan.FromTicks(Interlocked.Exchange(ref _lostForTicks, 0));
        if (Interlocked.Exchange(ref _askOthers, 0) == 1)
        {
            try
            {
                var connection = await redis.Connection.ConfigureAwait(false);
                var ask = redis.Message((long)lostFor.TotalMilliseconds, static (writer, ms) => writer.WriteNumber("lostForMs"u8, ms));
                await connection.GetSubscriber().PublishAsync(Channel, ask).WaitAsync(TimeSpan.FromSeconds(5), _stopping).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !_stopping.IsCancellationRequested)
            {
                // The other nodes' clients catch up with their conversations' next messages, or when this node's link
                // comes back again and asks once more.
                LogAskFailed(logger, ex);
            }
        }

        var open = connections.Count;
        var within = (int)Math.Clamp((SpreadPerConnection * open).TotalMilliseconds, LeastSpread.TotalMilliseconds, MostSpread.TotalMilliseconds);

        // Since when: the outage, the wait before this telling, and the ask's way between the nodes.
        var since = (int)Math.Min(int.MaxValue, (lostFor + Settle + AskTransit).TotalMilliseconds);
        LogTelling(logger, open, within, since);
        try
        {
            // Each connection is written to by itself; one gone dark holds up only this one-off telling.
            await Task.WhenAll(
                agents.Clients.All.SendAsync(ChatHubMethods.CatchUp, within, since, _stopping),
                customers.Clients.All.SendAsync(ChatHubMethods.CatchUp, within, since, _stopping)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            LogTellFailed(logger, ex);
        }
    }

    [LoggerMessage(EventId = 67, Level = LogLevel.Information, Message = "The link to Redis is back ({ConnectionType}); pushes between the nodes may have been lost meanwhile, so this node's clients and the other nodes' are told to catch up.")]
    private static partial void LogRestored(ILogger logger, ConnectionType connectionType);

    [LoggerMessage(EventId = 68, Level = LogLevel.Information, Message = "Telling {Connections} connection(s) to catch up from Resume, each within {WithinMilliseconds} ms, what may have been lost in the last {SinceMilliseconds} ms.")]
    private static partial void LogTelling(ILogger logger, int connections, int withinMilliseconds, int sinceMilliseconds);

    [LoggerMessage(EventId = 69, Level = LogLevel.Warning, Message = "Could not ask the other nodes to have their clients catch up after this node's link to Redis came back; their clients catch up with their conversations' next messages.")]
    private static partial void LogAskFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 70, Level = LogLevel.Warning, Message = "Could not tell every connection to catch up; those not told catch up with their conversations' next messages.")]
    private static partial void LogTellFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 71, Level = LogLevel.Warning, Message = "Could not subscribe to the other nodes' requests to catch up in Redis (tried again every second); this node's clients may miss pushes lost while another node's link to Redis was down until their conversations' next messages. Not logged again until it works.")]
    private static partial void LogSubscribeFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 72, Level = LogLevel.Warning, Message = "Could not read another node's request to catch up; it was skipped.")]
    private static partial void LogReadFailed(ILogger logger, Exception exception);
}
