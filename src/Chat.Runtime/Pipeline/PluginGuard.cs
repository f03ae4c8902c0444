using System.Diagnostics;
using Chat.Plugins;
using Chat.Runtime.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Chat.Runtime.Pipeline;

/// <summary>
/// Wraps one channel plugin: a time budget, exception isolation, a circuit breaker and metrics. Never throws
/// for the plugin's faults: a plugin that throws, overruns or has an open circuit is skipped for the message.
/// </summary>
/// <remarks>
/// The synchronous path (the plugin returns a completed task) allocates nothing: the plugin gets a token from a
/// per-thread cached <see cref="CancellationTokenSource"/> that is only armed, linked to the caller's token and
/// cancelled at the budget when the plugin actually goes asynchronous. When a plugin ignores its token, the guard
/// still stops waiting at the budget; the plugin's late outcome is observed and logged.
/// </remarks>
internal sealed class PluginGuard : IChannelPlugin
{
    [ThreadStatic]
    private static CancellationTokenSource? t_cachedSource;

    private readonly IChannelPlugin _inner;
    private readonly TimeSpan _budget;
    private readonly int _failureThreshold;
    private readonly TimeSpan _breakDuration;
    private readonly long _breakTicks;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ChatRuntimeMetrics _metrics;
    private readonly KeyValuePair<string, object?> _pluginTag;

    private int _consecutiveFailures;

    /// <summary>0 while the circuit is closed; otherwise the <see cref="TimeProvider"/> timestamp it stays open until.</summary>
    private long _openUntil;

    public PluginGuard(
        IChannelPlugin inner,
        string pluginId,
        TimeSpan budget,
        int failureThreshold,
        TimeSpan breakDuration,
        TimeProvider time,
        ILogger logger,
        ChatRuntimeMetrics metrics)
    {
        _inner = inner;
        PluginId = pluginId;
        Priority = inner.Priority;
        _budget = budget;
        _failureThreshold = failureThreshold;
        _breakDuration = breakDuration;
        _breakTicks = (long)(breakDuration.TotalSeconds * time.TimestampFrequency);
        _time = time;
        _logger = logger;
        _metrics = metrics;
        _pluginTag = new("chat.plugin", pluginId);
    }

    public string PluginId { get; }

    /// <summary>The plugin's priority, read once when it was loaded.</summary>
    public int Priority { get; }

    /// <summary>The guarded plugin (for tests and diagnostics).</summary>
    public IChannelPlugin Inner => _inner;

    /// <summary>True while the circuit is open.</summary>
    public bool IsCircuitOpen => Volatile.Read(ref _openUntil) != 0;

    public ValueTask OnMessageAsync(MessageContext context, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _openUntil) != 0 && !TryEnterOpenCircuit())
        {
            _metrics.PluginSkipped.Add(1, _pluginTag);
            return default;
        }

        var start = _metrics.PluginDuration.Enabled ? Stopwatch.GetTimestamp() : 0L;
        var source = t_cachedSource ?? new CancellationTokenSource();
        t_cachedSource = null;

        ValueTask pending;
        try
        {
            pending = _inner.OnMessageAsync(context, source.Token);
            if (pending.IsCompleted)
            {
                pending.GetAwaiter().GetResult();
                Release(source);
                OnSuccess(start);
                return default;
            }
        }
        catch (Exception ex)
        {
            Release(source);
            OnFailure(ex, context, start);
            return default;
        }

        return AwaitWithBudgetAsync(pending, source, context, start, cancellationToken);
    }

    private async ValueTask AwaitWithBudgetAsync(
        ValueTask pending,
        CancellationTokenSource source,
        MessageContext context,
        long start,
        CancellationToken cancellationToken)
    {
        var task = pending.AsTask();
        var timedOut = false;
        var registration = cancellationToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), source);
        try
        {
            await task.WaitAsync(_budget, _time, cancellationToken).ConfigureAwait(false);
            OnSuccess(start);
        }
        catch (TimeoutException)
        {
            timedOut = true;
            OnTimeout(context, start);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The caller gave up on the message: not the plugin's fault, and not ours to swallow.
            throw;
        }
        catch (Exception ex)
        {
            OnFailure(ex, context, start);
        }
        finally
        {
            await registration.DisposeAsync().ConfigureAwait(false);
            if (timedOut || !task.IsCompleted)
            {
                source.Cancel();
                _ = task.ContinueWith(
                    static (t, state) => ((PluginGuard)state!).OnLateFailure(t),
                    this,
                    CancellationToken.None,
                    TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }
            else
            {
                Release(source);
            }
        }
    }

    private static void Release(CancellationTokenSource source)
    {
        if (source.TryReset())
        {
            t_cachedSource = source;
        }
        else
        {
            source.Dispose();
        }
    }

    /// <summary>The circuit is open: skip, unless the break is over, in which case one caller probes the plugin.</summary>
    private bool TryEnterOpenCircuit()
    {
        var openUntil = Volatile.Read(ref _openUntil);
        if (openUntil == 0)
        {
            return true;
        }

        var now = _time.GetTimestamp();
        if (now < openUntil)
        {
            return false;
        }

        // Half-open: the first caller to push the deadline out runs the probe; everyone else keeps skipping.
        return Interlocked.CompareExchange(ref _openUntil, now + _breakTicks, openUntil) == openUntil;
    }

    private void OnSuccess(long start)
    {
        if (start != 0)
        {
            _metrics.PluginDuration.Record(Stopwatch.GetElapsedTime(start).TotalSeconds, _pluginTag);
        }

        if (_consecutiveFailures != 0)
        {
            Volatile.Write(ref _consecutiveFailures, 0);
        }

        if (Volatile.Read(ref _openUntil) != 0 && Interlocked.Exchange(ref _openUntil, 0) != 0)
        {
            Log.CircuitClosed(_logger, PluginId);
        }
    }

    private void OnFailure(Exception exception, MessageContext context, long start)
    {
        Log.PluginThrew(_logger, exception, PluginId, context.Message.Id, context.Conversation.Id);
        CountFailure("exception", start);
    }

    private void OnTimeout(MessageContext context, long start)
    {
        Log.PluginTimedOut(_logger, PluginId, _budget, context.Message.Id, context.Conversation.Id);
        CountFailure("timeout", start);
    }

    private void CountFailure(string reason, long start)
    {
        if (start != 0)
        {
            _metrics.PluginDuration.Record(Stopwatch.GetElapsedTime(start).TotalSeconds, _pluginTag);
        }

        _metrics.PluginFailures.Add(1, _pluginTag, new("chat.failure", reason));
        var failures = Interlocked.Increment(ref _consecutiveFailures);
        if (failures >= _failureThreshold)
        {
            var previous = Interlocked.Exchange(ref _openUntil, _time.GetTimestamp() + _breakTicks);
            if (previous == 0)
            {
                Log.CircuitOpened(_logger, PluginId, failures, _breakDuration);
            }
        }
    }

    private void OnLateFailure(Task task) => Log.PluginFailedLate(_logger, task.Exception!.GetBaseException(), PluginId);
}
