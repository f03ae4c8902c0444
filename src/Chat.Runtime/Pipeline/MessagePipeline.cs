using System.Diagnostics;
using Chat.Plugins;
using Chat.Runtime.Diagnostics;
using Chat.Runtime.Loading;

namespace Chat.Runtime.Pipeline;

/// <summary>The pipeline over the catalog's guarded channel plugins. Allocation-free when every plugin completes synchronously.</summary>
internal sealed class MessagePipeline : IMessagePipeline
{
    private static readonly KeyValuePair<string, object?> Passed = new("chat.outcome", "passed");
    private static readonly KeyValuePair<string, object?> Stopped = new("chat.outcome", "stopped");
    private static readonly KeyValuePair<string, object?> Rejected = new("chat.outcome", "rejected");

    private readonly IChannelPlugin[] _plugins;
    private readonly string[] _pluginIds;
    private readonly ChatRuntimeMetrics _metrics;

    public MessagePipeline(PluginCatalog catalog, ChatRuntimeMetrics metrics)
    {
        _plugins = [.. catalog.PipelinePlugins];
        _pluginIds = Array.ConvertAll(_plugins, static p => p is PluginGuard g ? g.PluginId : p.GetType().Name);
        _metrics = metrics;
    }

    /// <summary>The plugins in the order they run.</summary>
    internal IReadOnlyList<IChannelPlugin> Plugins => _plugins;

    public ValueTask ExecuteAsync(MessageContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        cancellationToken.ThrowIfCancellationRequested();
        if (ChatRuntimeDiagnostics.ActivitySource.HasListeners())
        {
            return ExecuteTracedAsync(context, cancellationToken);
        }

        var plugins = _plugins;
        for (var i = 0; i < plugins.Length; i++)
        {
            var pending = plugins[i].OnMessageAsync(context, cancellationToken);
            if (!pending.IsCompletedSuccessfully)
            {
                return ContinueAsync(pending, i, context, cancellationToken);
            }

            pending.GetAwaiter().GetResult();
            if (context.IsStopped)
            {
                return Finish(context, i);
            }
        }

        return Finish(context, -1);
    }

    private async ValueTask ContinueAsync(ValueTask pending, int index, MessageContext context, CancellationToken cancellationToken)
    {
        await pending.ConfigureAwait(false);
        if (context.IsStopped)
        {
            await Finish(context, index).ConfigureAwait(false);
            return;
        }

        var plugins = _plugins;
        for (var i = index + 1; i < plugins.Length; i++)
        {
            await plugins[i].OnMessageAsync(context, cancellationToken).ConfigureAwait(false);
            if (context.IsStopped)
            {
                await Finish(context, i).ConfigureAwait(false);
                return;
            }
        }

        await Finish(context, -1).ConfigureAwait(false);
    }

    private async ValueTask ExecuteTracedAsync(MessageContext context, CancellationToken cancellationToken)
    {
        using var activity = ChatRuntimeDiagnostics.ActivitySource.StartActivity("chat.pipeline", ActivityKind.Internal);
        activity?.SetTag("chat.conversation.id", context.Conversation.Id);
        activity?.SetTag("chat.channel", context.Message.ChannelId);
        activity?.SetTag("chat.direction", context.Direction.ToString());
        var plugins = _plugins;
        var stoppedAt = -1;
        for (var i = 0; i < plugins.Length; i++)
        {
            await plugins[i].OnMessageAsync(context, cancellationToken).ConfigureAwait(false);
            if (context.IsStopped)
            {
                stoppedAt = i;
                break;
            }
        }

        await Finish(context, stoppedAt).ConfigureAwait(false);
        if (context.IsRejected)
        {
            activity?.SetTag("chat.rejected_by", context.StoppedBy);
        }
    }

    private ValueTask Finish(MessageContext context, int stoppedAt)
    {
        if (stoppedAt >= 0)
        {
            context.StoppedBy ??= _pluginIds[stoppedAt];
        }

        if (_metrics.PipelineMessages.Enabled)
        {
            _metrics.PipelineMessages.Add(1, context.IsRejected ? Rejected : context.IsStopped ? Stopped : Passed);
        }

        return default;
    }
}
