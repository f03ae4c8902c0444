using Chat.Plugins;

namespace Chat.TestPlugins.Throwing;

/// <summary>Throws on every message: synchronously for text, asynchronously for anything else.</summary>
public sealed class ThrowingPlugin : IChannelPlugin
{
    public int Priority => 90;

    public ValueTask OnMessageAsync(MessageContext context, CancellationToken cancellationToken)
    {
        if (context.Message.Kind == Chat.MessageKind.Text)
        {
            throw new InvalidOperationException("the throwing plugin always throws");
        }

        return ThrowLaterAsync();
    }

    private static async ValueTask ThrowLaterAsync()
    {
        await Task.Yield();
        throw new InvalidOperationException("the throwing plugin always throws, later");
    }
}
