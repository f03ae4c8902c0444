using Chat.Hub.Services;
using Chat.Storage;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Hubs;

/// <summary>
/// Around every connection and call of the framework's hubs: the connection's <see cref="ChatConnection"/> from connect to
/// disconnect, the per-connection call rate limit, and the translation of a refused request or a storage failure into a
/// <see cref="HubException"/> whose message the caller sees.
/// </summary>
internal sealed class ChatHubFilter(IOptions<ChatHubOptions> options, ChatConnections connections) : IHubFilter
{
    public async Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next)
    {
        var o = options.Value;
        var id = context.Context.ConnectionId;
        connections.Add(id, new ChatConnection(o.CallBurst, o.CallsPerSecond) { Caller = context.Context });
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch
        {
            // A refused connection is never told OnDisconnectedAsync.
            connections.Remove(id);
            throw;
        }
    }

    public async Task OnDisconnectedAsync(HubLifetimeContext context, Exception? exception, Func<HubLifetimeContext, Exception?, Task> next)
    {
        try
        {
            await next(context, exception).ConfigureAwait(false);
        }
        finally
        {
            connections.Remove(context.Context.ConnectionId);
        }
    }

    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        if (!connections[invocationContext.Context.ConnectionId].TryTakeCall())
        {
            var o = options.Value;
            throw new HubException($"Rate limit: a connection may make {o.CallsPerSecond} calls per second (bursts of {o.CallBurst}); {invocationContext.HubMethodName} was refused, slow down and retry.");
        }

        try
        {
            return await next(invocationContext).ConfigureAwait(false);
        }
        catch (ChatRequestException ex)
        {
            throw new HubException(ex.Message);
        }
        catch (ChatStorageException)
        {
            throw new HubException("Storage is unavailable: nothing was stored. Retry with the same ClientMessageId.");
        }
    }
}
