using Chat.Plugins;

namespace Chat.TestPlugins.FutureHost;

/// <summary>Built for host API 2.x: a 1.x host must refuse it without loading it.</summary>
public sealed class FutureHostPlugin : IChannelPlugin
{
    public int Priority => 10;

    public ValueTask OnMessageAsync(MessageContext context, CancellationToken cancellationToken)
    {
        context.Properties["future"] = true;
        return ValueTask.CompletedTask;
    }
}
