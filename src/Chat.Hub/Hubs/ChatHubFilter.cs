using Chat.Hub.Services;
using Chat.Storage;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Hubs;

/// <summary>
/// Around every connection and call of the agents' hub: the connection's <see cref="ChatConnection"/> from connect to
/// disconnect, the per-connection call rate limit, and the translation of a refused request or a storage failure into a
/// <see cref="HubException"/> whose message the caller sees. The customers' hub, through which every customer message
/// comes, does the same in its own methods with the helpers here (<see cref="Open"/>, <see cref="Admit"/>,
/// <see cref="Translate"/>): with a filter SignalR sends each call through a pipeline of its own, two async steps and an
/// invocation context more, several hundred bytes a message.
/// </summary>
internal sealed class ChatHubFilter(IOptions<ChatHubOptions> options, ChatConnections connections) : IHubFilter
{
    public async Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next)
    {
        var id = context.Context.ConnectionId;
        Open(connections, options.Value, context.Context);
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
        Admit(connections[invocationContext.Context.ConnectionId], options.Value, invocationContext.HubMethodName);
        try
        {
            return await next(invocationContext).ConfigureAwait(false);
        }
        catch (Exception ex) when (Translate(ex) is { } refused)
        {
            throw refused;
        }
    }

    /// <summary>A new connection's state, kept until it closes (<see cref="ChatConnections.Remove(string)"/>).</summary>
    internal static ChatConnection Open(ChatConnections connections, ChatHubOptions options, HubCallerContext context)
    {
        var connection = new ChatConnection(options.CallBurst, options.CallsPerSecond) { Caller = context };
        connections.Add(context.ConnectionId, connection);
        return connection;
    }

    /// <summary>Takes a call from the connection's rate; throws what the caller is told when it is over it.</summary>
    internal static void Admit(ChatConnection connection, ChatHubOptions options, string method)
    {
        if (!connection.TryTakeCall())
        {
            throw new HubException($"Rate limit: a connection may make {options.CallsPerSecond} calls per second (bursts of {options.CallBurst}); {method} was refused, slow down and retry.");
        }
    }

    /// <summary>What the caller is told of a refused request or a storage failure; null for any other failure, which
    /// SignalR reports without its details.</summary>
    internal static HubException? Translate(Exception exception) => exception switch
    {
        ChatRequestException refused => new HubException(refused.Message),
        ChatStorageException => new HubException("Storage is unavailable: nothing was stored. Retry with the same ClientMessageId."),
        _ => null,
    };
}
