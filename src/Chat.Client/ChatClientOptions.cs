namespace Chat.Client;

/// <summary>How a client connects to a hub.</summary>
public sealed class ChatClientOptions
{
    /// <summary>The hub's URL, for example <c>https://shop.example/chat/customer</c> or <c>.../chat/agent</c>.</summary>
    public required Uri HubUrl { get; init; }

    /// <summary>Returns the token for each (re)connect: a visitor token for the customer hub, the agent's bearer token for the agent hub.</summary>
    public Func<Task<string?>>? AccessTokenProvider { get; init; }

    /// <summary>
    /// Whether to use SignalR's stateful reconnect (the server replays what a briefly lost connection missed). Null, the
    /// default, means on for agents (busy connections, where it saves a resume after a blip) and off for customers (it
    /// costs the server about 2 KiB per connection, and the client's resume by seq gives the same guarantee anyway).
    /// </summary>
    public bool? StatefulReconnect { get; init; }

    /// <summary>
    /// Agents: when a conversation the client has not delivered before is given to the agent mid-way (by assignment or
    /// transfer, also while the connection was down), or the hub pushes a message of one (any conversation, for an agent
    /// who hears the whole tenant), whether <see cref="ChatHubClient.MessageReceived"/> gets the conversation's earlier
    /// messages, from its first, read with <c>Resume</c> (and recorded in the audit log as a history read). Default true,
    /// so an agent's client sees every conversation it is given whole, with no gap. False starts such a conversation at
    /// the pushed message, for a wall that shows a whole tenant's live traffic and needs no history: set it for a
    /// supervisor's client of a busy tenant, which would otherwise read the history of every conversation it first hears
    /// mid-way, one call each at the connection's call rate, with live messages waiting behind. Either way a
    /// conversation once delivered is delivered without gaps from then on. Customers' clients ignore it.
    /// </summary>
    public bool CatchUpNewConversations { get; init; } = true;

    /// <summary>Use the MessagePack protocol instead of JSON. Default false.</summary>
    public bool UseMessagePack { get; init; }

    /// <summary>
    /// How long a send keeps retrying (with the same client message id) through lost connections, and after the hub's
    /// refusals for the connection's call rate, before it fails. Default 2 minutes.
    /// </summary>
    public TimeSpan SendTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Changes the underlying HTTP connection (handlers, headers, transports), if given.</summary>
    public Action<Microsoft.AspNetCore.Http.Connections.Client.HttpConnectionOptions>? ConfigureHttpConnection { get; init; }
}
