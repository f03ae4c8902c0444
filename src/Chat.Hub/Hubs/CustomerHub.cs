using Chat.Hub.Security;
using Chat.Hub.Services;
using Chat.Protocol;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Hubs;

/// <summary>
/// The customer-facing hub (<c>{prefix}/customer</c>): a visitor's own conversation only. It has no agent operation,
/// so a customer connection cannot call one. Events for the tenant's agents go through its <see cref="AgentFeed"/>,
/// after the messages before them, and the customer's call does not wait for the agents' connections. It keeps its
/// connections' state, their call rate and what a refused call is told itself, in each method, rather than through
/// <see cref="ChatHubFilter"/> (every customer message comes through here; see the filter).
/// </summary>
internal sealed class CustomerHub(ConversationService service, AgentFeed agentFeed, ChatConnections connections, IOptions<ChatHubOptions> options)
    : Microsoft.AspNetCore.SignalR.Hub
{
    public override Task OnConnectedAsync()
    {
        ChatHubFilter.Open(connections, options.Value, Context);
        return Task.CompletedTask;
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        connections.Remove(Context.ConnectionId);
        return Task.CompletedTask;
    }

    /// <summary>Starts the visitor's conversation, or returns the one they have.</summary>
    public async Task<Conversation> StartConversation()
    {
        var connection = Admit(nameof(StartConversation));
        try
        {
            var conversation = await service.StartCustomerConversationAsync(CallerOf(connection), Context.ConnectionAborted);
            await JoinAsync(connection, conversation);
            return conversation;
        }
        catch (Exception ex) when (ChatHubFilter.Translate(ex) is { } refused)
        {
            throw refused;
        }
    }

    /// <summary>Sends a message; answers once it is stored.</summary>
    public async Task<SendResult> Send(SendRequest request)
    {
        var connection = Admit(nameof(Send));
        try
        {
            var conversation = await OwnAsync(connection, request?.ConversationId ?? 0);
            return SendAnswers.Create(connection, request!, await service.SendAsync(CallerOf(connection), conversation, request!, Context.ConnectionId, Context.ConnectionAborted));
        }
        catch (Exception ex) when (ChatHubFilter.Translate(ex) is { } refused)
        {
            throw refused;
        }
    }

    /// <summary>The messages after a seq (private notes left out), and joins the conversation's live messages.</summary>
    public async Task<MessagePage> Resume(ResumeRequest request)
    {
        var connection = Admit(nameof(Resume));
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            var conversation = await OwnAsync(connection, request.ConversationId);
            await JoinAsync(connection, conversation);
            return await service.ReadAsync(conversation.TenantId, conversation.Id, request.AfterSeq, request.Limit, includePrivate: false, Context.ConnectionAborted);
        }
        catch (Exception ex) when (ChatHubFilter.Translate(ex) is { } refused)
        {
            throw refused;
        }
    }

    /// <summary>Tells the agents who hear the conversation that the customer is typing.</summary>
    public async Task Typing(long conversationId)
    {
        var connection = Admit(nameof(Typing));
        try
        {
            var conversation = await OwnAsync(connection, conversationId);
            await agentFeed.PublishToConversationAsync(conversation.TenantId, ChatHubMethods.TypingReceived,
                new TypingEvent { ConversationId = conversation.Id, SenderKind = SenderKind.Customer, SenderId = CallerOf(connection).Id }, conversation.AssigneeId);
        }
        catch (Exception ex) when (ChatHubFilter.Translate(ex) is { } refused)
        {
            throw refused;
        }
    }

    /// <summary>Tells the agents who hear the conversation that the customer has read up to a seq.</summary>
    public async Task MarkRead(long conversationId, long seq)
    {
        var connection = Admit(nameof(MarkRead));
        try
        {
            var conversation = await OwnAsync(connection, conversationId);
            await agentFeed.PublishToConversationAsync(conversation.TenantId, ChatHubMethods.ReadReceived,
                new ReadEvent { ConversationId = conversation.Id, ReaderKind = SenderKind.Customer, ReaderId = CallerOf(connection).Id, Seq = seq }, conversation.AssigneeId);
        }
        catch (Exception ex) when (ChatHubFilter.Translate(ex) is { } refused)
        {
            throw refused;
        }
    }

    /// <summary>This connection's state, once a call is admitted at the connection's rate.</summary>
    private ChatConnection Admit(string method)
    {
        var connection = connections[Context.ConnectionId];
        ChatHubFilter.Admit(connection, options.Value, method);
        return connection;
    }

    private ChatCaller CallerOf(ChatConnection connection) => connection.Identity ??= ChatCaller.Customer(Context.User!);

    private ValueTask<Conversation> OwnAsync(ChatConnection connection, long conversationId)
    {
        // Ownership never changes: the connection remembers the conversation it last proved (a visitor has one per
        // channel, so this is nearly always a hit, answered without a task of its own) and asks the store otherwise.
        return connection.Owned is { } known && known.Id == conversationId ? ValueTask.FromResult(known) : new ValueTask<Conversation>(ProveAsync(connection, conversationId));
    }

    private async Task<Conversation> ProveAsync(ChatConnection connection, long conversationId)
    {
        var conversation = await service.GetForCustomerAsync(CallerOf(connection), conversationId, Context.ConnectionAborted);
        connection.Owned = conversation;
        return conversation;
    }

    /// <summary>
    /// The connection gets the conversation's live pushes from now on: this node's own index of who follows a
    /// conversation (<see cref="ChatConnections.Join"/>), and with several nodes the tenant's pushes from the others.
    /// </summary>
    private Task JoinAsync(ChatConnection connection, Conversation conversation)
    {
        connection.Owned = conversation;
        connections.Join(connection, conversation.TenantId, conversation.Id);
        return service.CustomerJoinedAsync(conversation.TenantId);
    }
}
