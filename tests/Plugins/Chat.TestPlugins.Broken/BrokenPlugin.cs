using Chat.Plugins;
using Chat.TestAssets.Dependency;

namespace Chat.TestPlugins.Broken;

/// <summary>
/// Derives from a type in a private dependency. The test deletes that dependency from the published folder, so the
/// plugin's types cannot load: a broken folder.
/// </summary>
public sealed class BrokenPlugin : PluginBase, IChannelPlugin
{
    public int Priority => 70;

    public ValueTask OnMessageAsync(MessageContext context, CancellationToken cancellationToken)
    {
        context.Properties["broken"] = Describe();
        return ValueTask.CompletedTask;
    }
}
