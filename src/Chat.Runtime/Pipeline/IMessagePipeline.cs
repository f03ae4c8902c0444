using Chat.Plugins;

namespace Chat.Runtime.Pipeline;

/// <summary>Runs a message through every active channel plugin, highest priority first.</summary>
public interface IMessagePipeline
{
    /// <summary>Runs the pipeline over one message.</summary>
    /// <param name="context">The message; on return, <see cref="MessageContext.IsRejected"/> and
    /// <see cref="MessageContext.Message"/> say what the plugins made of it.</param>
    /// <param name="cancellationToken">Cancels the run; plugins see it too.</param>
    /// <returns>A task that completes when every plugin has had its turn, or one stopped the chain.</returns>
    /// <remarks>A plugin that throws, overruns its time budget or has an open circuit is skipped; the run goes on.</remarks>
    ValueTask ExecuteAsync(MessageContext context, CancellationToken cancellationToken);
}
