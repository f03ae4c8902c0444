using Chat.Plugins;

namespace Chat.TestPlugins.Hanging;

/// <summary>
/// Never finishes: it ignores its cancellation token (the worst case), but records when the token is cancelled so
/// a test can see the runtime cancelled it at the time budget.
/// </summary>
public sealed class HangingPlugin : IChannelPlugin
{
    private static int s_cancelled;

    public static int Cancelled => Volatile.Read(ref s_cancelled);

    public int Priority => 80;

    public ValueTask OnMessageAsync(MessageContext context, CancellationToken cancellationToken)
    {
        cancellationToken.Register(static () => Interlocked.Increment(ref s_cancelled));
        return new ValueTask(new TaskCompletionSource().Task);
    }
}
