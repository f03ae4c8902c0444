using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Chat.Hub.Services;

/// <summary>
/// Claims, across the nodes, on the platform pushes being stored (with <c>AddRedisBackplane</c>): a platform's retry
/// that reaches another node while its original is still in the pipeline (an ERP lookup taking its time) waits for the
/// original instead of running the plugins a second time, so an auto-reply plugin answers once (event 59).
/// </summary>
/// <remarks>
/// <para>
/// A claim is a Redis key per (tenant, channel, platform message id) set only if absent (<c>SET NX PX</c>), holding
/// the claimant's token, with a lifetime of <see cref="Lifetime"/> that the node renews while the push is on its way,
/// and deleted by its holder when the push is stored or has failed. A node that dies holding one holds up the retries
/// for at most that lifetime; then one of them stores the push.
/// </para>
/// <para>
/// Best effort, never in the way of storing: while Redis does not answer, a push goes on unclaimed, as on a single
/// node, and the store still keeps it once (its unique platform message id); only the plugins may then see a racing
/// retry twice.
/// </para>
/// </remarks>
internal sealed partial class InboundClaims(RedisLink redis, ILogger<InboundClaims> logger) : IAsyncDisposable
{
    /// <summary>How long a claim outlives its holder (settable before the first claim, for tests).</summary>
    internal TimeSpan Lifetime { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often a retry that found its push claimed by another node looks again.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    // How long a push waits for Redis to answer a claim before it goes on unclaimed.
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(1);

    // Let go of, or extend, a claim only while it is still the caller's. One script each, not StackExchange.Redis's
    // LockRelease and LockExtend: those are transactions with a condition (WATCH, GET, then MULTI ... EXEC), which hold
    // the node's one multiplexed connection for a round trip each, and halved the pushes a node took (2,416 and 2,724
    // against 5,291 and 4,829 a second without claims, with the load tool's --via webhook --redis).
    private const string ReleaseScript = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";
    private const string ExtendScript = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0";

    private readonly ConcurrentDictionary<long, (RedisKey Key, RedisValue Token)> _held = new();
    private readonly CancellationTokenSource _stopping = new();
    private Task? _renewal;
    private long _next;
    private volatile bool _failing;

    /// <summary>
    /// Claims a push for this node: <see cref="InboundClaim.IsElsewhere"/> when another node holds it; a claim that
    /// is not held (Redis did not answer) when the push should go on unclaimed. Dispose a claim when its push is
    /// stored or has failed.
    /// </summary>
    public async ValueTask<InboundClaim> ClaimAsync(string tenantId, string channelId, string platformMessageId, CancellationToken cancellationToken)
    {
        if (redis.ConnectionIfReady is not { IsConnected: true } connection)
        {
            Failing(null);
            return default;
        }

        var number = Interlocked.Increment(ref _next);
        var key = Key(tenantId, channelId, platformMessageId);
        RedisValue token = redis.NodeId + ":" + number.ToString(System.Globalization.CultureInfo.InvariantCulture);
        try
        {
            if (!await connection.GetDatabase().LockTakeAsync(key, token, Lifetime).WaitAsync(AnswerTimeout, cancellationToken).ConfigureAwait(false))
            {
                _failing = false;
                return new InboundClaim(null, 0, elsewhere: true);
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Failing(ex);
            return default;
        }

        _failing = false;
        _held[number] = (key, token);
        EnsureRenewing();
        return new InboundClaim(this, number, elsewhere: false);
    }

    /// <summary>Lets go of a held claim, without waiting for Redis (a claim Redis does not hear of expires).</summary>
    internal void Release(long number)
    {
        if (_held.TryRemove(number, out var claim) && redis.ConnectionIfReady is { } connection)
        {
            try
            {
                connection.GetDatabase().ScriptEvaluate(ReleaseScript, [claim.Key], [claim.Token], CommandFlags.FireAndForget);
            }
            catch (RedisException)
            {
                // Not connected: the claim expires by itself.
            }
        }
    }

    /// <summary>The key of a push's claim: a hash, so keys are short and name no platform's ids.</summary>
    internal static RedisKey Key(string tenantId, string channelId, string platformMessageId)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(string.Concat(tenantId, "\0", channelId, "\0", platformMessageId)));
        return "chat:inbound:" + Convert.ToBase64String(hash);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_renewal is { } renewal)
        {
            await renewal.ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    private void EnsureRenewing()
    {
        if (_renewal is null)
        {
            lock (_held)
            {
                _renewal ??= Task.Run(RenewAsync);
            }
        }
    }

    // One loop for the node's claims: each held one is extended to a full lifetime every third of a lifetime.
    private async Task RenewAsync()
    {
        using var timer = new PeriodicTimer(Lifetime / 3);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                if (_held.IsEmpty || redis.ConnectionIfReady is not { } connection)
                {
                    continue;
                }

                var database = connection.GetDatabase();
                try
                {
                    var lifetime = (long)Lifetime.TotalMilliseconds;
                    await Task.WhenAll(_held.Values.Select(c => database.ScriptEvaluateAsync(ExtendScript, [c.Key], [c.Token, lifetime]))).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    Failing(ex);
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    private void Failing(Exception? exception)
    {
        if (!_failing)
        {
            _failing = true;
            LogClaimsUnavailable(logger, exception);
        }
    }

    [LoggerMessage(EventId = 59, Level = LogLevel.Warning, Message = "Could not claim a platform push in Redis; pushes go on unclaimed and are still stored once, but a platform's retry that reaches another node while its original is in the pipeline runs the plugins again. Not logged again until a claim has been made.")]
    private static partial void LogClaimsUnavailable(ILogger logger, Exception? exception);
}

/// <summary>A node's claim on a platform push (see <see cref="InboundClaims"/>); the default is a push gone on unclaimed.</summary>
internal readonly struct InboundClaim : IDisposable
{
    private readonly InboundClaims? _owner;
    private readonly long _number;

    internal InboundClaim(InboundClaims? owner, long number, bool elsewhere) => (_owner, _number, IsElsewhere) = (owner, number, elsewhere);

    /// <summary>Another node holds the push: look for it in the store, and claim again a little later.</summary>
    public bool IsElsewhere { get; }

    public void Dispose() => _owner?.Release(_number);
}
