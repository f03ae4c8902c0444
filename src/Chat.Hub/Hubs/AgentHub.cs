using Chat.Hub.Security;
using Chat.Hub.Services;
using Chat.Protocol;
using Chat.Storage;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Hubs;

/// <summary>The agent-facing hub (<c>{prefix}/agent</c>): presence, the queue, the conversation lifecycle and replies, within the agent's tenant.</summary>
internal sealed class AgentHub(ConversationService service, AgentRegistry registry, IConversationStore conversations, AgentFeed agentFeed, IOptions<ChatHubOptions> options, ChatConnections connections,
    TimeProvider time)
    : Microsoft.AspNetCore.SignalR.Hub
{
    private const int MaxCapacity = 100;

    /// <summary>Whether an agent's connection hears every conversation of its tenant: a supervisor's, or any with <see cref="ChatHubOptions.AgentsHearEveryMessage"/>.</summary>
    private bool HearsEveryConversation(ChatCaller agent) => agent.IsSupervisor || options.Value.AgentsHearEveryMessage;

    private ChatCaller Caller => connections[Context.ConnectionId].Identity ??=
        ChatCaller.Agent(Context.User!, options.Value) ?? throw new HubException("The connection is not an agent's.");

    public override async Task OnConnectedAsync()
    {
        var agent = ChatCaller.Agent(Context.User!, options.Value);
        if (agent is null)
        {
            Context.Abort();
            return;
        }

        registry.Connect(agent.TenantId, agent.Id, Context.ConnectionId, options.Value.DefaultAgentCapacity, agent.Teams);
        await Groups.AddToGroupAsync(Context.ConnectionId, HubGroups.Agents(agent.TenantId));
        if (agent.IsSupervisor && !options.Value.AgentsHearEveryMessage)
        {
            await Groups.AddToGroupAsync(Context.ConnectionId, HubGroups.Supervisors(agent.TenantId));
            connections.AddSupervisor(connections[Context.ConnectionId], agent.TenantId);
        }

        await agentFeed.AgentConnectedAsync(agent.TenantId);
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        if (ChatCaller.Agent(Context.User!, options.Value) is { } agent)
        {
            registry.Disconnect(agent.TenantId, agent.Id, Context.ConnectionId);
        }

        return Task.CompletedTask;
    }

    /// <summary>Sets presence and capacity; an agent who comes online is given queued conversations.</summary>
    public async Task SetPresence(AgentPresence presence, int capacity)
    {
        if (capacity is < 0 or > MaxCapacity)
        {
            throw new HubException($"Capacity is {capacity}; it must be 0 to {MaxCapacity}.");
        }

        if (!Enum.IsDefined(presence))
        {
            throw new HubException($"Presence {(int)presence} is not one of Online, Away, Offline.");
        }

        var agent = Caller;
        var state = registry.Find(agent.TenantId, agent.Id) ?? registry.Connect(agent.TenantId, agent.Id, Context.ConnectionId, capacity, agent.Teams);
        registry.SetPresence(state, presence, capacity);

        if (presence == AgentPresence.Online)
        {
            await service.AssignQueuedAsync(agent.TenantId, Context.ConnectionAborted);
        }
    }

    /// <summary>The tenant's queued conversations, oldest first.</summary>
    public async Task<IReadOnlyList<Conversation>> GetQueue()
    {
        var queued = await conversations.ListConversationsAsync(new ConversationQuery { TenantId = Caller.TenantId, Status = ConversationStatus.Queued, Limit = 500 }, Context.ConnectionAborted);
        return queued.OrderBy(static c => c.UpdatedAt).ThenBy(static c => c.Id).ToList(); // ids are time-ordered: a tie goes to the older
    }

    /// <summary>The tenant's conversations, newest activity first, by status and, when <paramref name="mine"/>, the caller's only.</summary>
    public Task<IReadOnlyList<Conversation>> ListConversations(ConversationStatus? status, bool mine, int limit) =>
        ListConversationsPage(new ConversationListRequest { Status = status, Mine = mine, Limit = limit });

    /// <summary>A page of the tenant's conversations, newest activity first, from where the previous page ended.</summary>
    public async Task<IReadOnlyList<Conversation>> ListConversationsPage(ConversationListRequest request)
    {
        if (request is null)
        {
            throw new HubException("The request is missing.");
        }

        if (request.Limit is < 1 or > 1000)
        {
            throw new HubException($"Limit is {request.Limit}; it must be 1 to 1000.");
        }

        var agent = Caller;
        return await conversations.ListConversationsAsync(new ConversationQuery
        {
            TenantId = agent.TenantId,
            Status = request.Status,
            AssigneeId = request.Mine ? agent.Id : null,
            Limit = request.Limit,
            After = request.After,
        }, Context.ConnectionAborted);
    }

    /// <summary>Takes a conversation that nobody else holds open.</summary>
    public async Task<Conversation> Accept(long conversationId)
    {
        var agent = Caller;
        for (var attempt = 1; ; attempt++)
        {
            var conversation = await service.GetForAgentAsync(agent, conversationId, Context.ConnectionAborted);
            if (conversation.Status == ConversationStatus.Open && conversation.AssigneeId is { } holder && holder != agent.Id)
            {
                throw new HubException($"Conversation {conversationId} is already open with agent {holder}; ask for a transfer.");
            }

            // Of two agents (or an agent and a node's assignment) taking it at once, one wins; the other looks again.
            if (await service.ChangeIfAsync(conversation, ConversationStatus.Open, agent.Id, conversation.TeamId, assigneeCapacity: null, Context.ConnectionAborted) is { } accepted)
            {
                return accepted;
            }

            if (attempt == 3)
            {
                throw new HubException($"Conversation {conversationId} keeps changing; try again.");
            }
        }
    }

    /// <summary>
    /// Hands a conversation to another agent (open with them), or, when <paramref name="toAgentId"/> is null, back to the
    /// queue: of a team when <paramref name="toTeamId"/> is given (only its members are given it), otherwise the general one.
    /// </summary>
    public async Task<Conversation> Transfer(long conversationId, string? toAgentId, string? toTeamId)
    {
        var agent = Caller;
        var conversation = await service.GetForAgentAsync(agent, conversationId, Context.ConnectionAborted);
        foreach (var (name, value) in new[] { ("ToAgentId", toAgentId), ("ToTeamId", toTeamId) })
        {
            if (value is not null && (string.IsNullOrWhiteSpace(value) || value.Length > 128))
            {
                throw new HubException($"{name} is empty or longer than 128 characters.");
            }
        }

        if (toAgentId is null)
        {
            var queued = await service.ChangeAsync(conversation, ConversationStatus.Queued, null, toTeamId, Context.ConnectionAborted);
            return await service.TryAssignAsync(queued, Context.ConnectionAborted);
        }

        return await service.ChangeAsync(conversation, ConversationStatus.Open, toAgentId, toTeamId ?? conversation.TeamId, Context.ConnectionAborted);
    }

    /// <summary>Resolves a conversation; the freed capacity takes the next queued one.</summary>
    public async Task<Conversation> Resolve(long conversationId)
    {
        var agent = Caller;
        var conversation = await service.GetForAgentAsync(agent, conversationId, Context.ConnectionAborted);
        var resolved = await service.ChangeAsync(conversation, ConversationStatus.Resolved, conversation.AssigneeId, conversation.TeamId, Context.ConnectionAborted);
        await service.AssignQueuedAsync(agent.TenantId, Context.ConnectionAborted);
        return resolved;
    }

    /// <summary>Reopens a resolved or pending conversation: open with its assignee, or queued when it has none.</summary>
    public async Task<Conversation> Reopen(long conversationId)
    {
        var agent = Caller;
        var conversation = await service.GetForAgentAsync(agent, conversationId, Context.ConnectionAborted);
        var status = conversation.AssigneeId is null ? ConversationStatus.Queued : ConversationStatus.Open;
        return await service.ChangeAsync(conversation, status, conversation.AssigneeId, conversation.TeamId, Context.ConnectionAborted);
    }

    /// <summary>Marks a conversation as waiting for the customer or a third party.</summary>
    public async Task<Conversation> SetPending(long conversationId)
    {
        var agent = Caller;
        var conversation = await service.GetForAgentAsync(agent, conversationId, Context.ConnectionAborted);
        return await service.ChangeAsync(conversation, ConversationStatus.Pending, conversation.AssigneeId, conversation.TeamId, Context.ConnectionAborted);
    }

    /// <summary>Sends a reply or a private note; answers once it is stored.</summary>
    public async Task<SendResult> Send(SendRequest request)
    {
        var agent = Caller;
        var conversation = await service.GetForAgentAsync(agent, request?.ConversationId ?? 0, Context.ConnectionAborted);
        return SendAnswers.Create(connections[Context.ConnectionId], request!, await service.SendAsync(agent, conversation, request!, Context.ConnectionId, Context.ConnectionAborted));
    }

    /// <summary>
    /// The messages after a seq, private notes included; recorded in the audit log. Unless the request says not to
    /// (<see cref="ResumeRequest.Follow"/>), the connection follows the conversation from now on (recorded too, when the
    /// conversation is not the agent's own): it hears its messages, typing and read receipts live, as its assignee does,
    /// until <see cref="Unfollow"/> or it closes (at most <see cref="ChatConnections.MaxFollowed"/> at once: the one
    /// resumed longest ago stops, and the connection is told with <see cref="ChatHubMethods.FollowEnded"/>). A
    /// supervisor's connection, or any with <see cref="ChatHubOptions.AgentsHearEveryMessage"/>, hears it anyway and
    /// follows nothing.
    /// </summary>
    public async Task<MessagePage> Resume(ResumeRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var agent = Caller;
        var connection = connections[Context.ConnectionId];
        var follow = request.Follow && !HearsEveryConversation(agent); // otherwise the connection hears it anyway
        var startsFollowing = follow && !connections.Follows(connection, agent.TenantId, request.ConversationId);
        long? ended = null;
        var page = await service.ReadForAgentAsync(agent, request.ConversationId, request.AfterSeq, request.Limit,
            Context.GetHttpContext()?.Connection.RemoteIpAddress?.ToString(), Context.ConnectionAborted,
            startsFollowing ? () => ended = connections.Follow(connection, agent.TenantId, request.ConversationId) : null);
        if (follow && !startsFollowing)
        {
            ended = connections.Follow(connection, agent.TenantId, request.ConversationId); // the newest again
        }

        if (ended is { } stopped)
        {
            await Clients.Caller.SendAsync(ChatHubMethods.FollowEnded, stopped, Context.ConnectionAborted);
        }

        return page;
    }

    /// <summary>The caller as the hub sees it: its tenant, id and teams, and whether its connection hears every conversation of the tenant.</summary>
    public AgentSelf WhoAmI()
    {
        var agent = Caller;
        return new AgentSelf
        {
            TenantId = agent.TenantId,
            AgentId = agent.Id,
            Teams = agent.Teams,
            IsSupervisor = agent.IsSupervisor,
            HearsEveryConversation = HearsEveryConversation(agent),
            ServerTime = time.GetUtcNow(),
        };
    }

    /// <summary>The connection stops following a conversation it resumed (its agent's own conversations it hears still).</summary>
    public void Unfollow(long conversationId) => connections.Unfollow(connections[Context.ConnectionId], Caller.TenantId, conversationId);

    /// <summary>Tells the customer and the other agents who hear the conversation that the caller is typing.</summary>
    public async Task Typing(long conversationId)
    {
        var agent = Caller;
        var conversation = await service.GetForAgentAsync(agent, conversationId, Context.ConnectionAborted);
        var typing = new TypingEvent { ConversationId = conversationId, SenderKind = SenderKind.Agent, SenderId = agent.Id };
        service.PushToCustomers(agent.TenantId, conversation.Id, ChatHubMethods.TypingReceived, typing);
        await agentFeed.PublishToConversationAsync(agent.TenantId, ChatHubMethods.TypingReceived, typing, conversation.AssigneeId, Context.ConnectionId);
    }

    /// <summary>Tells the customer and the other agents who hear the conversation that the caller has read up to a seq.</summary>
    public async Task MarkRead(long conversationId, long seq)
    {
        var agent = Caller;
        var conversation = await service.GetForAgentAsync(agent, conversationId, Context.ConnectionAborted);
        var read = new ReadEvent { ConversationId = conversationId, ReaderKind = SenderKind.Agent, ReaderId = agent.Id, Seq = seq };
        service.PushToCustomers(agent.TenantId, conversation.Id, ChatHubMethods.ReadReceived, read);
        await agentFeed.PublishToConversationAsync(agent.TenantId, ChatHubMethods.ReadReceived, read, conversation.AssigneeId, Context.ConnectionId);
    }
}
