using Chat.Plugins;

namespace Chat.Runtime.Tests.Pipeline;

/// <summary>Plugins compiled into the test host, with knobs.</summary>
internal class RecordingPlugin(string name, int priority) : IChannelPlugin
{
    private int _calls;

    public int Priority => priority;

    public int Calls => Volatile.Read(ref _calls);

    public virtual ValueTask OnMessageAsync(MessageContext context, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        Record(context, name);
        return ValueTask.CompletedTask;
    }

    public static void Record(MessageContext context, string name)
    {
        if (!context.Properties.TryGetValue("trace", out var value) || value is not List<string> list)
        {
            context.Properties["trace"] = list = [];
        }

        list.Add(name);
    }
}

internal sealed class FirstPlugin() : RecordingPlugin("first", 100);

internal sealed class LastPlugin() : RecordingPlugin("last", -100);

internal sealed class TieBPlugin() : RecordingPlugin("b", 0);

internal sealed class TieAPlugin() : RecordingPlugin("a", 0);

/// <summary>Fails while <see cref="Failing"/> is set: synchronously, or on a later turn when <see cref="Async"/>.</summary>
internal sealed class FlakyPlugin : IChannelPlugin
{
    private int _calls;

    public bool Failing { get; set; } = true;

    public bool Async { get; set; }

    public int Calls => Volatile.Read(ref _calls);

    public int Priority => 50;

    public ValueTask OnMessageAsync(MessageContext context, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        if (!Failing)
        {
            return ValueTask.CompletedTask;
        }

        return Async ? FailLaterAsync() : throw new InvalidOperationException("flaky");
    }

    private static async ValueTask FailLaterAsync()
    {
        await Task.Yield();
        throw new InvalidOperationException("flaky, later");
    }
}

/// <summary>Waits on its token (a well-behaved slow plugin) for <see cref="Delay"/>.</summary>
internal sealed class SlowPlugin : IChannelPlugin
{
    public TimeSpan Delay { get; set; } = Timeout.InfiniteTimeSpan;

    private volatile bool _sawCancellation;

    public bool SawCancellation => _sawCancellation;

    public int Priority => 40;

    public async ValueTask OnMessageAsync(MessageContext context, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(Delay, cancellationToken);
            RecordingPlugin.Record(context, "slow");
        }
        catch (OperationCanceledException)
        {
            _sawCancellation = true;
            throw;
        }
    }
}

internal sealed class RejectingPlugin : IChannelPlugin
{
    public int Priority => 60;

    public ValueTask OnMessageAsync(MessageContext context, CancellationToken cancellationToken)
    {
        if (context.Message.Content.Contains("spam", StringComparison.Ordinal))
        {
            context.Reject("looks like spam");
        }
        else if (context.Message.Content.Contains("stop", StringComparison.Ordinal))
        {
            context.Stop();
        }

        return ValueTask.CompletedTask;
    }
}

internal sealed class MaskingPlugin : IChannelPlugin
{
    public int Priority => PluginPriority.Moderation;

    public ValueTask OnMessageAsync(MessageContext context, CancellationToken cancellationToken)
    {
        if (context.Message.Content.Contains("13800138000", StringComparison.Ordinal))
        {
            context.Message = context.Message with { Content = context.Message.Content.Replace("13800138000", "138****8000", StringComparison.Ordinal) };
        }

        return ValueTask.CompletedTask;
    }
}

internal sealed class ContentProbePlugin : IChannelPlugin
{
    public int Priority => 0;

    public string? Seen { get; private set; }

    public ValueTask OnMessageAsync(MessageContext context, CancellationToken cancellationToken)
    {
        Seen = context.Message.Content;
        return ValueTask.CompletedTask;
    }
}

internal sealed class NotAPlugin;
