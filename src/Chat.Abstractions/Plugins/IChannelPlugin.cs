namespace Chat.Plugins;

/// <summary>
/// A step of the message pipeline. Every message, inbound and outbound, flows through every active plugin
/// in descending <see cref="Priority"/> order, like middleware: moderation and masking first, enrichment next,
/// delivery last.
/// </summary>
/// <remarks>
/// The runtime guards every plugin with a time budget, exception isolation and a circuit breaker: a plugin that
/// throws, hangs or overruns is logged and skipped for that message, and the message goes on. Return a completed
/// <see cref="ValueTask"/> when there is nothing to wait for; the synchronous path costs no allocation.
/// </remarks>
public interface IChannelPlugin
{
    /// <summary>The order of this plugin in the pipeline; higher runs first.</summary>
    int Priority { get; }

    /// <summary>Inspects or changes a message, or stops or rejects it.</summary>
    /// <param name="context">The message and its conversation.</param>
    /// <param name="cancellationToken">Cancelled when the plugin's time budget runs out or the caller gives up.</param>
    /// <returns>A task that completes when the plugin is done with the message.</returns>
    ValueTask OnMessageAsync(MessageContext context, CancellationToken cancellationToken);
}
