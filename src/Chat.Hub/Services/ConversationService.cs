using System.Collections.Concurrent;
using Chat.Hub.Hubs;
using Chat.Hub.Security;
using Chat.Plugins;
using Chat.Protocol;
using Chat.Runtime.Loading;
using Chat.Runtime.Pipeline;
using Chat.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Services;

/// <summary>
/// The message path and the conversation lifecycle: every message goes pipeline, durable store, then out to the
/// conversation's customer connections and the tenant's agents; the sender is answered only after the store commits.
/// </summary>
internal sealed partial class ConversationService(
    IMessagePipeline pipeline,
    IMessageStore messages,
    IConversationStore conversations,
    IHubContext<CustomerHub> customers,
    AgentFeed agentFeed,
    AgentRegistry registry,
    IPluginCatalog catalog,
    OutboxWorker outboxWorker,
    AgentAccessAudit audit,
    ChatConnections connections,
    ChatHubMetrics metrics,
    IOptions<ChatHubOptions> options,
    ILogger<ConversationService> logger,
    RecentInboundContacts recentInbound,
    CustomerPushReplica? replica = null,
    InboundClaims? claims = null,
    RecentInboundContactsReplica? inboundReplica = null)
{
    /// <summary>The channel id of the hub's own customers (the web widget and .NET customer clients).</summary>
    public const string WebChannel = "web";

    private const int MaxClientMessageIdLength = 64;

    // The platform pushes being stored on this node, by (tenant, channel, platform message id): a retry that arrives
    // meanwhile waits for the original's outcome instead of running the plugins again.
    private readonly ConcurrentDictionary<(string Tenant, string Channel, string PlatformMessageId), Task<AppendResult>> _inboundInFlight = new();
    private static readonly Dictionary<string, string> PrivateMetadata = new(StringComparer.Ordinal) { [MessageMetadataKeys.Private] = "true" };
    private static readonly Dictionary<string, string> DeliverMetadata = new(StringComparer.Ordinal) { [MessageMetadataKeys.Deliver] = "true" };
    private static readonly Dictionary<string, string> NoMetadata = new(0, StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _assignmentLocks = new(StringComparer.Ordinal);

    // Per tenant, until when (Environment.TickCount64) no conversation is given out, because the last try found every
    // available agent full. At a peak every agent is busy and the queue grows while its customers keep writing: each of
    // their messages tried to assign its conversation, one at a time under the tenant's lock, and the hub stored a
    // quarter of the messages it stores otherwise. Anything that may free a place lifts it (a conversation leaving its
    // agent on this node, an agent coming online or given more places: AssignQueuedAsync); a place freed on another node
    // is given out by that node, and here after at most NoRoomHold. The inner map is by team ("" for the whole tenant:
    // every available agent full, so every team too).
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, long>> _noRoomUntil = new(StringComparer.Ordinal);

    /// <summary>How long a tenant whose agents were all found full is not tried again, unless a place frees on this node.</summary>
    internal static readonly TimeSpan NoRoomHold = TimeSpan.FromSeconds(1);
    private readonly ChatHubOptions _options = options.Value;

    public static bool IsPrivate(ChatMessage message) =>
        message.Metadata.TryGetValue(MessageMetadataKeys.Private, out var value) && value == "true";

    public async Task<Conversation> StartCustomerConversationAsync(ChatCaller customer, CancellationToken cancellationToken)
    {
        var contact = await conversations.ResolveContactAsync(customer.TenantId, new ChannelIdentity(WebChannel, customer.Id), customer.DisplayName, cancellationToken).ConfigureAwait(false);
        var conversation = await conversations.GetOrCreateConversationAsync(customer.TenantId, contact.Id, WebChannel, cancellationToken).ConfigureAwait(false);
        if (conversation.Status == ConversationStatus.Queued && conversation.AssigneeId is null)
        {
            conversation = await TryAssignAsync(conversation, cancellationToken).ConfigureAwait(false);
        }

        return conversation;
    }

    /// <summary>The conversation, if it is the customer's own; otherwise "not found" (never "not yours", which would confirm it exists).</summary>
    public async Task<Conversation> GetForCustomerAsync(ChatCaller customer, long conversationId, CancellationToken cancellationToken)
    {
        var contact = await conversations.FindContactAsync(customer.TenantId, new ChannelIdentity(WebChannel, customer.Id), cancellationToken).ConfigureAwait(false);
        var conversation = contact is null ? null : await conversations.GetConversationAsync(customer.TenantId, conversationId, cancellationToken).ConfigureAwait(false);
        return conversation is not null && conversation.ContactId == contact!.Id && conversation.ChannelId == WebChannel
            ? conversation
            : throw ChatRequestException.NotFound(conversationId);
    }

    public async Task<Conversation> GetForAgentAsync(ChatCaller agent, long conversationId, CancellationToken cancellationToken) =>
        await conversations.GetConversationAsync(agent.TenantId, conversationId, cancellationToken).ConfigureAwait(false)
        ?? throw ChatRequestException.NotFound(conversationId);

    /// <summary>
    /// Sends a customer's or an agent's message through the hub. The sending connection (<paramref name="senderConnectionId"/>)
    /// is answered (<see cref="Hubs.SendAnswers"/>) instead of pushed to.
    /// </summary>
    public Task<StoredSend> SendAsync(ChatCaller sender, Conversation conversation, SendRequest request, string? senderConnectionId, CancellationToken cancellationToken)
    {
        // Not an async method of its own (a state machine fewer a message): a refused request throws here, before
        // anything is queued, and its caller awaits this at once.
        Validate(sender, request);
        var draft = new ChatMessage
        {
            TenantId = conversation.TenantId,
            ConversationId = conversation.Id,
            ChannelId = conversation.ChannelId,
            Direction = sender.Kind == SenderKind.Customer ? MessageDirection.Inbound : MessageDirection.Outbound,
            Sender = sender.Sender,
            Kind = request.Kind,
            Content = request.Content,
            ClientMessageId = request.ClientMessageId,
            Metadata = request.IsPrivate ? PrivateMetadata : DeliversToPlatform(sender, conversation) ? DeliverMetadata : NoMetadata,
        };
        return StoreAsync(draft, conversation, senderConnectionId, cancellationToken);
    }

    /// <summary>
    /// Stores one message a channel plugin took from a platform push. A platform's retry is answered with the stored
    /// message before the plugins run, so they see each platform message once (an auto-reply plugin answers once): a
    /// retry of a stored message from the store, and a retry that arrives while its original is still on its way with
    /// the original's outcome: on this node by waiting for it, on another node (with Redis) through the original's
    /// claim (<see cref="InboundClaims"/>).
    /// </summary>
    public async Task<AppendResult> AcceptInboundAsync(string channelId, InboundMessage inbound, CancellationToken cancellationToken)
    {
        var tenantId = string.IsNullOrWhiteSpace(inbound.TenantId) ? _options.DefaultTenantId : inbound.TenantId;
        var key = (tenantId, channelId, inbound.PlatformMessageId);
        while (true)
        {
            var mine = new TaskCompletionSource<AppendResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            var running = _inboundInFlight.GetOrAdd(key, mine.Task);
            if (running != mine.Task)
            {
                try
                {
                    return new AppendResult((await running.WaitAsync(cancellationToken).ConfigureAwait(false)).Message, IsDuplicate: true);
                }
                catch (Exception) when (!cancellationToken.IsCancellationRequested)
                {
                    continue; // the original failed (its platform gave up on it, storage was down): this one tries itself
                }
            }

            // Out of the map before its outcome is known to those waiting, so one that tries itself finds it gone.
            try
            {
                var result = await AcceptInboundCoreAsync(tenantId, channelId, inbound, cancellationToken).ConfigureAwait(false);
                _inboundInFlight.TryRemove(new(key, mine.Task));
                mine.SetResult(result);
                return result;
            }
            catch (Exception ex)
            {
                _inboundInFlight.TryRemove(new(key, mine.Task));
                mine.SetException(ex);
                _ = mine.Task.Exception; // observed: a retry waiting on it tries itself
                throw;
            }
        }
    }

    private async Task<AppendResult> AcceptInboundCoreAsync(string tenantId, string channelId, InboundMessage inbound, CancellationToken cancellationToken)
    {
        while (true)
        {
            // Claimed before the store is asked, so an original that is stored and lets go meanwhile is found there.
            using var claim = claims is null ? default : await claims.ClaimAsync(tenantId, channelId, inbound.PlatformMessageId, cancellationToken).ConfigureAwait(false);
            if (await messages.FindByPlatformMessageIdAsync(tenantId, channelId, inbound.PlatformMessageId, cancellationToken).ConfigureAwait(false) is { } stored)
            {
                await RepublishAsync(stored, senderConnectionId: null).ConfigureAwait(false);
                return new AppendResult(stored, IsDuplicate: true);
            }

            if (claim.IsElsewhere)
            {
                // The original is on another node: stored there, it is found here; failed there, its claim is gone.
                await Task.Delay(InboundClaims.PollInterval, cancellationToken).ConfigureAwait(false);
                continue;
            }

            return await StoreInboundAsync(tenantId, channelId, inbound, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<AppendResult> StoreInboundAsync(string tenantId, string channelId, InboundMessage inbound, CancellationToken cancellationToken)
    {
        var identity = new ChannelIdentity(channelId, inbound.PlatformUserId);
        if (recentInbound.Find(tenantId, identity) is { } recent)
        {
            try
            {
                return await StoreInboundAsync(tenantId, channelId, inbound, recent, cancellationToken).ConfigureAwait(false);
            }
            catch (ChatRequestException ex) when (ex.StatusCode == StatusCodes.Status404NotFound)
            {
                // Erased since (the customer's data, on request or by retention): the customer starts again, as a new contact.
                recentInbound.Forget(tenantId, identity);
            }
        }

        var resolved = await conversations.ResolveConversationAsync(tenantId, identity, inbound.DisplayName, cancellationToken).ConfigureAwait(false);
        recentInbound.Add(tenantId, identity, resolved);
        return await StoreInboundAsync(tenantId, channelId, inbound, resolved, cancellationToken).ConfigureAwait(false);
    }

    private async Task<AppendResult> StoreInboundAsync(string tenantId, string channelId, InboundMessage inbound, ResolvedConversation resolved, CancellationToken cancellationToken)
    {
        var (contact, conversation) = resolved;
        var draft = new ChatMessage
        {
            TenantId = tenantId,
            ConversationId = conversation.Id,
            ChannelId = channelId,
            Direction = MessageDirection.Inbound,
            Sender = new MessageSender(SenderKind.Customer, contact.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)) { DisplayName = inbound.DisplayName ?? contact.DisplayName },
            Kind = inbound.Kind,
            Content = inbound.Content,
            PlatformMessageId = inbound.PlatformMessageId,
            PlatformTimestamp = inbound.PlatformTimestamp,
            Metadata = InboundMetadata(inbound.Metadata),
        };
        return (await StoreAsync(draft, conversation, senderConnectionId: null, cancellationToken).ConfigureAwait(false)).Result;
    }

    /// <summary>A platform message is never a private note and never goes back out to its platform: those keys are the hub's.</summary>
    private static IReadOnlyDictionary<string, string> InboundMetadata(IReadOnlyDictionary<string, string> metadata) =>
        metadata.ContainsKey(MessageMetadataKeys.Private) || metadata.ContainsKey(MessageMetadataKeys.Deliver)
            ? metadata.Where(static m => m.Key is not (MessageMetadataKeys.Private or MessageMetadataKeys.Deliver)).ToDictionary(StringComparer.Ordinal)
            : metadata;

    /// <summary>
    /// A page of a conversation's history for an agent of its tenant, private notes included. A page that holds
    /// messages is recorded in the audit log (<see cref="AgentAccessAudit"/>) before it is returned, and is not
    /// returned when it cannot be; an empty page (a client catching up on a conversation with nothing new) shows
    /// nothing and records nothing. With <paramref name="startFollowing"/> (the caller's connection is to hear the
    /// conversation live from now on), that is recorded too, unless the conversation is the agent's own, and only then
    /// is it called: a message stored after the page was read and pushed before the connection followed would reach
    /// it neither way, and being the last, no later message would show its client the gap. So, when the page holds
    /// the rest of the history, what was stored since it was read is read once more after the call and added to it.
    /// </summary>
    public async Task<MessagePage> ReadForAgentAsync(ChatCaller agent, long conversationId, long afterSeq, int limit, string? remoteAddress, CancellationToken cancellationToken,
        Action? startFollowing = null)
    {
        var conversation = await GetForAgentAsync(agent, conversationId, cancellationToken).ConfigureAwait(false);
        var page = await ReadAsync(agent.TenantId, conversation.Id, afterSeq, limit, includePrivate: true, cancellationToken).ConfigureAwait(false);
        await RecordReadAsync(agent, conversation, page, remoteAddress, cancellationToken).ConfigureAwait(false);
        if (startFollowing is null)
        {
            return page;
        }

        if (conversation.AssigneeId != agent.Id)
        {
            var from = FormattableString.Invariant($"after seq {Math.Max(afterSeq, page.NextAfterSeq)}");
            await audit.RecordAsync(agent, AuditActions.FollowConversation, conversation, from, remoteAddress, cancellationToken).ConfigureAwait(false);
        }

        startFollowing();
        if (page.HasMore)
        {
            return page; // the client reads on, and what it reads now includes anything stored meanwhile
        }

        var since = await ReadAsync(agent.TenantId, conversation.Id, page.NextAfterSeq, limit - page.Messages.Count, includePrivate: true, cancellationToken).ConfigureAwait(false);
        if (since.Messages.Count == 0)
        {
            return page;
        }

        await RecordReadAsync(agent, conversation, since, remoteAddress, cancellationToken).ConfigureAwait(false);
        return new MessagePage { Messages = [.. page.Messages, .. since.Messages], NextAfterSeq = since.NextAfterSeq, HasMore = since.HasMore };
    }

    private async Task RecordReadAsync(ChatCaller agent, Conversation conversation, MessagePage page, string? remoteAddress, CancellationToken cancellationToken)
    {
        if (page.Messages.Count > 0)
        {
            var shown = FormattableString.Invariant($"seq {page.Messages[0].Seq}-{page.Messages[^1].Seq}");
            await audit.RecordAsync(agent, AuditActions.ReadHistory, conversation, shown, remoteAddress, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A page of history after a seq; a customer's page leaves out private notes.</summary>
    public async Task<MessagePage> ReadAsync(string tenantId, long conversationId, long afterSeq, int limit, bool includePrivate, CancellationToken cancellationToken)
    {
        if (limit is < 1 or > 500)
        {
            throw new ChatRequestException($"Limit is {limit}; it must be 1 to 500.");
        }

        if (afterSeq < 0)
        {
            throw new ChatRequestException($"AfterSeq is {afterSeq}; it must be zero or more.");
        }

        var page = new List<ChatMessage>(Math.Min(limit, 64));
        var cursor = afterSeq;
        while (true)
        {
            var batch = await messages.ReadAfterAsync(new MessageQuery { TenantId = tenantId, ConversationId = conversationId, AfterSeq = cursor, Limit = limit }, cancellationToken).ConfigureAwait(false);
            foreach (var message in batch)
            {
                cursor = message.Seq;
                if (includePrivate || !IsPrivate(message))
                {
                    page.Add(message);
                    if (page.Count == limit)
                    {
                        return new MessagePage { Messages = page, NextAfterSeq = cursor, HasMore = true };
                    }
                }
            }

            if (batch.Count < limit)
            {
                return new MessagePage { Messages = page, NextAfterSeq = cursor, HasMore = false };
            }
        }
    }

    /// <summary>Changes a conversation's status, assignee and team, and tells everyone who sees it.</summary>
    public async Task<Conversation> ChangeAsync(Conversation conversation, ConversationStatus status, string? assigneeId, string? teamId, CancellationToken cancellationToken)
    {
        var changed = await conversations.UpdateConversationAsync(conversation.TenantId, conversation.Id, status, assigneeId, teamId, cancellationToken).ConfigureAwait(false);
        LiftNoRoomIfFreed(conversation, changed);
        await PublishChangeAsync(changed).ConfigureAwait(false);
        return changed;
    }

    /// <summary>
    /// Changes a conversation as <see cref="ChangeAsync"/> does, but only if it still has the status and assignee of
    /// <paramref name="conversation"/> (as read), and, with <paramref name="assigneeCapacity"/>, the new assignee has
    /// room; null when another agent or node changed it first, or filled the assignee's last place.
    /// </summary>
    public async Task<Conversation?> ChangeIfAsync(Conversation conversation, ConversationStatus status, string? assigneeId, string? teamId,
        int? assigneeCapacity, CancellationToken cancellationToken)
    {
        var changed = await conversations.UpdateConversationIfAsync(conversation.TenantId, conversation.Id, conversation.Status, conversation.AssigneeId,
            status, assigneeId, teamId, assigneeCapacity, cancellationToken).ConfigureAwait(false);
        if (changed is not null)
        {
            LiftNoRoomIfFreed(conversation, changed);
            await PublishChangeAsync(changed).ConfigureAwait(false);
        }

        return changed;
    }

    /// <summary>Gives a queued conversation to the online agent with the fewest open conversations and free capacity.</summary>
    public async Task<Conversation> TryAssignAsync(Conversation conversation, CancellationToken cancellationToken)
    {
        if (!registry.AnyAvailable(conversation.TenantId) || NoRoom(conversation))
        {
            return conversation; // nobody takes conversations now, or every place was taken a moment ago: no lock, no reads
        }

        var gate = _assignmentLocks.GetOrAdd(conversation.TenantId, static _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                if (NoRoom(conversation))
                {
                    return conversation; // the try before this one, which it waited for, found every place taken
                }

                var current = await conversations.GetConversationAsync(conversation.TenantId, conversation.Id, cancellationToken).ConfigureAwait(false);
                if (current is null || current.Status != ConversationStatus.Queued || current.AssigneeId is not null)
                {
                    return current ?? conversation;
                }

                if (await PickAgentAsync(conversation.TenantId, current.TeamId, cancellationToken).ConfigureAwait(false) is not var (agentId, capacity))
                {
                    _noRoomUntil.GetOrAdd(conversation.TenantId, static _ => new(StringComparer.Ordinal))[current.TeamId ?? ""] =
                        Environment.TickCount64 + (long)NoRoomHold.TotalMilliseconds;
                    return current;
                }

                // Another node may assign it, or an agent accept it, or another node give this agent their last free
                // place, at the same moment: the store lets only what still holds happen.
                var assigned = await ChangeIfAsync(current, ConversationStatus.Open, agentId, current.TeamId, capacity, cancellationToken).ConfigureAwait(false);
                if (assigned is not null)
                {
                    LogAssigned(logger, conversation.Id, conversation.TenantId, agentId);
                    return assigned;
                }

                if (attempt == 3)
                {
                    return current; // it stays queued; the next message or an agent with room takes it
                }
            }
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Hands the tenant's queued conversations, oldest first, to agents with free capacity.</summary>
    public async Task AssignQueuedAsync(string tenantId, CancellationToken cancellationToken)
    {
        _noRoomUntil.TryRemove(tenantId, out _); // called when a place may have freed (an agent online, a conversation resolved)
        var queued = await conversations.ListConversationsAsync(new ConversationQuery { TenantId = tenantId, Status = ConversationStatus.Queued, Limit = 200 }, cancellationToken).ConfigureAwait(false);
        foreach (var conversation in queued.Where(static c => c.AssigneeId is null).OrderBy(static c => c.UpdatedAt).ThenBy(static c => c.Id))
        {
            var result = await TryAssignAsync(conversation, cancellationToken).ConfigureAwait(false);
            if (result.AssigneeId is null)
            {
                return; // nobody has capacity left
            }
        }
    }

    /// <summary>A conversation that left its agent (resolved, pending, transferred) frees a place: the next try is made at once.</summary>
    private void LiftNoRoomIfFreed(Conversation before, Conversation after)
    {
        if (before.Status == ConversationStatus.Open && (after.Status != ConversationStatus.Open || after.AssigneeId != before.AssigneeId))
        {
            _noRoomUntil.TryRemove(after.TenantId, out _);
        }
    }

    /// <summary>Whether the last try for the tenant (or the conversation's team) found every place taken, a moment ago.</summary>
    private bool NoRoom(Conversation conversation)
    {
        if (!_noRoomUntil.TryGetValue(conversation.TenantId, out var teams))
        {
            return false;
        }

        var now = Environment.TickCount64;
        return (teams.TryGetValue("", out var all) && now < all)
               || (conversation.TeamId is { } team && teams.TryGetValue(team, out var ofTeam) && now < ofTeam);
    }

    /// <summary>The available agent (and their capacity) with the fewest open conversations, or null when nobody has room.</summary>
    private async Task<(string AgentId, int Capacity)?> PickAgentAsync(string tenantId, string? teamId, CancellationToken cancellationToken)
    {
        string? best = null;
        var bestCapacity = 0;
        var bestOpen = int.MaxValue;
        var bestLast = long.MaxValue;
        var available = registry.Available(tenantId, teamId);
        if (available.Count == 0)
        {
            return null;
        }

        var counts = await conversations.CountOpenConversationsAsync(tenantId, available.ConvertAll(static a => a.AgentId), cancellationToken).ConfigureAwait(false);
        foreach (var (agentId, capacity, lastAssigned) in available)
        {
            var open = counts.GetValueOrDefault(agentId);
            if (open < capacity && (open < bestOpen || (open == bestOpen && lastAssigned < bestLast)))
            {
                (best, bestCapacity, bestOpen, bestLast) = (agentId, capacity, open, lastAssigned);
            }
        }

        if (best is null)
        {
            return null;
        }

        registry.MarkAssigned(tenantId, best);
        return (best, bestCapacity);
    }

    /// <summary>Runs the pipeline, stores and publishes a message.</summary>
    private async Task<StoredSend> StoreAsync(ChatMessage draft, Conversation conversation, string? senderConnectionId, CancellationToken cancellationToken)
    {
        var context = new MessageContext(draft, conversation);
        await pipeline.ExecuteAsync(context, cancellationToken).ConfigureAwait(false);
        if (context.IsRejected)
        {
            throw new ChatRequestException($"The message was rejected: {context.RejectionReason}", 422);
        }

        // Acknowledged only after this returns: the store completes the append after its batch commits. From here the
        // caller going away (a connection closed, a platform that gave up on its push) stops nothing: a message once
        // queued may be stored whatever its caller does, and the caller's retry then finds it stored and pushes nothing,
        // so it is pushed (and its conversation reopened or assigned) here, or an agent hears of it only with the
        // conversation's next message, which may never come.
        var storing = CancellationToken.None;
        AppendResult result;
        try
        {
            result = await messages.AppendAsync(context.Message, storing).ConfigureAwait(false);
        }
        catch (ConversationNotFoundException)
        {
            // The conversation was erased since the caller found it (a customer's data erased on request): that is
            // "not found", which a client does not retry, rather than a storage fault, which it does.
            throw ChatRequestException.NotFound(conversation.Id);
        }

        if (result.IsDuplicate)
        {
            // The answer and the pushes carry the message as stored, not as this retry has it.
            var original = await ReadStoredAsync(result.Message).ConfigureAwait(false);

            // A retry is its sender's own: a client message id that names another sender's message in the conversation
            // (two clients that number their messages alike, or one that guessed) is refused, and nothing is stored.
            // Answering with the other sender's message would tell this sender that its own was stored.
            if (original is not null && context.Message.ClientMessageId is not null && original.ClientMessageId == context.Message.ClientMessageId
                && (original.Sender.Kind != context.Message.Sender.Kind || original.Sender.Id != context.Message.Sender.Id))
            {
                throw new ChatRequestException(
                    $"The client message id '{original.ClientMessageId}' already names another sender's message in conversation {conversation.Id}; send this message with a new one.", 409);
            }

            var republished = original is null ? null : await RepublishAsync(original, senderConnectionId).ConfigureAwait(false);
            return new StoredSend(republished is null ? result : result with { Message = republished }, AsSent: false);
        }

        var sent = new StoredSend(result, AsSent: ReferenceEquals(context.Message, draft));

        if (result.Message.Metadata.ContainsKey(MessageMetadataKeys.Deliver))
        {
            outboxWorker.Notify(); // its outbox entry was committed with it
        }

        // The message goes to the agent who had the conversation when it was stored (the sender's copy may be older; it
        // serves a store that cannot tell).
        var assigneeId = result.ConversationStatus is null ? conversation.AssigneeId : result.ConversationAssigneeId;
        await FollowUpAndPublishAsync(result.Message, draft.Sender.Kind == SenderKind.Customer, conversation, result.ConversationStatus, assigneeId,
            senderConnectionId).ConfigureAwait(false);
        return sent;
    }

    /// <summary>
    /// Reopens or assigns the conversation of a customer's stored message as needed (<paramref name="followUp"/>), then
    /// pushes the message, to the agent who has the conversation after that. The message is stored whatever happens
    /// there, so it is pushed whatever happens there (a retry would find it stored), and nothing stops with the caller.
    /// </summary>
    private async Task FollowUpAndPublishAsync(ChatMessage stored, bool followUp, Conversation conversation, ConversationStatus? statusAtAppend,
        string? assigneeId, string? senderConnectionId)
    {
        try
        {
            if (followUp && await OnCustomerMessageAsync(conversation, statusAtAppend, CancellationToken.None).ConfigureAwait(false) is { } now)
            {
                assigneeId = now.AssigneeId;
            }
        }
        finally
        {
            await PublishMessageAsync(stored, assigneeId, senderConnectionId).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Sees to a customer's message that a stopped node left unattended (<see cref="IMessageStore.ListUnattendedAsync"/>):
    /// its conversation is reopened or assigned, as that node would have done, and the message pushed to whoever has
    /// the conversation then, as for a retry found stored. A failure throws, for the caller to try again (the lapsed
    /// lease is kept until every message of its span has been seen to).
    /// </summary>
    public Task<ChatMessage?> AttendAsync(ChatMessage unattended) => RepublishCoreAsync(unattended, senderConnectionId: null);

    /// <summary>
    /// A retry of a stored message (a client's, with its client message id, or a platform's, with its message id): the
    /// node that stored the original may have stopped between its commit and its push, and then nobody else pushes it
    /// (the retry finds it stored), so an agent would hear of it only with the conversation's next message, which may
    /// never come. It is pushed again, to whoever has its conversation now (a client drops a seq it has), and a
    /// customer's message that is still the last thing that changed its conversation (its seq the conversation's last,
    /// the conversation's time the message's own: no reopening, assignment or resolution since) gets what the original
    /// may not have got, its conversation reopened or assigned. One resolved after it stays resolved.
    /// </summary>
    /// <param name="stored">The original, as read from the store.</param>
    /// <param name="senderConnectionId">The retry's connection, which has its answer.</param>
    /// <returns>The message as stored, or null when its conversation is gone (erased since).</returns>
    private async Task<ChatMessage?> RepublishAsync(ChatMessage stored, string? senderConnectionId)
    {
        try
        {
            return await RepublishCoreAsync(stored, senderConnectionId).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The retry is answered all the same: its message is stored, which is what the answer says.
            LogRepublishFailed(logger, ex, stored.Id, stored.ConversationId);
            return null;
        }
    }

    /// <summary>A retry's original as stored, or null when it is gone (erased since) or cannot be read now (logged).</summary>
    private async Task<ChatMessage?> ReadStoredAsync(ChatMessage retried)
    {
        try
        {
            // Nothing here stops with the retry's caller, as nothing stops with the original's (StoreAsync).
            var read = await messages.ReadAfterAsync(
                new MessageQuery { TenantId = retried.TenantId, ConversationId = retried.ConversationId, AfterSeq = retried.Seq - 1, Limit = 1 },
                CancellationToken.None).ConfigureAwait(false);
            return read is [{ } original] && original.Id == retried.Id ? original : null;
        }
        catch (Exception ex)
        {
            // The retry is answered all the same: its message is stored, which is what the answer says.
            LogRepublishFailed(logger, ex, retried.Id, retried.ConversationId);
            return null;
        }
    }

    private async Task<ChatMessage?> RepublishCoreAsync(ChatMessage stored, string? senderConnectionId)
    {
        // Nothing here stops with the retry's caller, as nothing stops with the original's (StoreAsync).
        var storing = CancellationToken.None;
        var current = await conversations.GetConversationAsync(stored.TenantId, stored.ConversationId, storing).ConfigureAwait(false);
        if (current is null)
        {
            return null;
        }

        var stillLast = current.LastSeq == stored.Seq && current.UpdatedAt == stored.CreatedAt;
        await FollowUpAndPublishAsync(stored, stored.Sender.Kind == SenderKind.Customer && stillLast, current, current.Status, current.AssigneeId,
            senderConnectionId).ConfigureAwait(false);
        return stored;
    }

    /// <summary>Reopens or assigns a conversation a customer wrote to, as needed; returns it as it now is, or null when it read nothing.</summary>
    private async Task<Conversation?> OnCustomerMessageAsync(Conversation conversation, ConversationStatus? statusAtAppend, CancellationToken cancellationToken)
    {
        // The status the append saw in its transaction: an open conversation (the usual case) needs nothing more, and
        // a queued one only when some agent here could take it; anything else is read again, as the caller's copy may be old.
        if (statusAtAppend == ConversationStatus.Open
            || (statusAtAppend == ConversationStatus.Queued && (!registry.AnyAvailable(conversation.TenantId) || NoRoom(conversation))))
        {
            return null;
        }

        var current = await conversations.GetConversationAsync(conversation.TenantId, conversation.Id, cancellationToken).ConfigureAwait(false);
        if (current is null)
        {
            return null;
        }

        if (current.Status == ConversationStatus.Resolved)
        {
            current = await ChangeAsync(current, ConversationStatus.Queued, null, current.TeamId, cancellationToken).ConfigureAwait(false);
        }
        else if (current.Status == ConversationStatus.Pending)
        {
            current = await ChangeAsync(current, current.AssigneeId is null ? ConversationStatus.Queued : ConversationStatus.Open, current.AssigneeId, current.TeamId, cancellationToken).ConfigureAwait(false);
        }

        if (current.Status == ConversationStatus.Queued && current.AssigneeId is null)
        {
            current = await TryAssignAsync(current, cancellationToken).ConfigureAwait(false);
        }

        return current;
    }

    /// <summary>
    /// Pushes an event to a conversation's customer connections without waiting for them: SignalR writes it at once to
    /// every connection that is free, and one that takes nothing more (a device whose network went dark) keeps it
    /// queued, in order, until it takes it or the connection closes. So a sender (an agent replying, a platform's
    /// webhook) never waits for a customer's device; pushes are best effort, and a device that misses one gets it from
    /// <c>Resume</c>. A push that fails is logged whenever it fails.
    /// </summary>
    /// <remarks>
    /// What waits is bounded: a connection with more than <see cref="ChatHubOptions.CustomerBacklogBytes"/> of pushes
    /// not yet written is closed, and its client reconnects and resumes. Without that, a client that keeps pinging but
    /// never reads (nothing closes it) would make the node hold every push to its conversation for as long as it likes.
    /// Each node writes to its own customer connections: with several nodes the push also goes to the others
    /// (<see cref="CustomerPushReplica"/>), which write it to theirs by the same rules.
    /// </remarks>
    internal void PushToCustomers(string tenantId, long conversationId, string method, object payload, string? exceptConnectionId = null)
    {
        PushToLocalCustomers(tenantId, conversationId, method, payload, exceptConnectionId);
        if (replica is not null)
        {
            var published = replica.PublishAsync(tenantId, method, payload, conversationId, exceptConnectionId);
            if (!published.IsCompletedSuccessfully)
            {
                _ = published.AsTask(); // it logs its own failures and waits only for Redis's first connection
            }
        }
    }

    /// <summary>A customer connection joined a conversation on this node: with several nodes, it now gets the pushes the others send to it.</summary>
    internal Task CustomerJoinedAsync(string tenantId) =>
        replica is null ? Task.CompletedTask : replica.SubscribeAsync(
            tenantId,
            (method, payload, conversationId, except, _) =>
            {
                PushToLocalCustomers(tenantId, conversationId, method, payload, except);
                return ValueTask.CompletedTask;
            },
            wanted: conversationId => connections.Customers(tenantId, conversationId).Length > 0);

    private void PushToLocalCustomers(string tenantId, long conversationId, string method, object payload, string? exceptConnectionId)
    {
        var members = connections.Customers(tenantId, conversationId);
        if (members.Length == 0)
        {
            return;
        }

        long bytes = payload is ChatMessage message ? AgentFeed.EstimatedBytes(message) : 512;
        var changed = payload as Conversation;
        foreach (var member in members)
        {
            if (changed is not null && member.Owned?.Id == changed.Id)
            {
                member.Owned = changed; // what its next sends give the plugins
            }

            var caller = member.Caller!;
            if (caller.ConnectionId == exceptConnectionId)
            {
                continue;
            }

            if (!member.TryAddBacklog(bytes, _options.CustomerBacklogBytes))
            {
                if (member.TryMarkClosing())
                {
                    LogBacklogFull(logger, caller.ConnectionId, conversationId, _options.CustomerBacklogBytes);
                    metrics.CustomerConnectionClosed();
                    caller.Abort();
                }

                continue;
            }

            Task push;
            try
            {
                push = customers.Clients.Client(caller.ConnectionId).SendAsync(method, payload, CancellationToken.None);
            }
            catch (Exception ex)
            {
                member.RemoveBacklog(bytes);
                LogPushFailed(logger, ex, method, conversationId);
                continue;
            }

            if (push.IsCompleted)
            {
                member.RemoveBacklog(bytes);
                if (push.IsFaulted)
                {
                    LogPushFailed(logger, push.Exception!.GetBaseException(), method, conversationId);
                }
            }
            else
            {
                push.ContinueWith(
                    (written, state) =>
                    {
                        var (log, waiting, size, name, id) = ((ILogger, ChatConnection, long, string, long))state!;
                        waiting.RemoveBacklog(size);
                        if (written.IsFaulted)
                        {
                            LogPushFailed(log, written.Exception!.GetBaseException(), name, id);
                        }
                    },
                    (logger, member, bytes, method, conversationId), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
    }

    private ValueTask PublishMessageAsync(ChatMessage message, string? assigneeId, string? senderConnectionId)
    {
        // The sending connection has its answer and is left out; it is a connection of the hub of its sender's kind.
        var senderKind = message.Sender.Kind;
        if (!IsPrivate(message))
        {
            PushToCustomers(message.TenantId, message.ConversationId, ChatHubMethods.MessageReceived, message,
                senderKind == SenderKind.Customer ? senderConnectionId : null);
        }

        // Queued for the tenant's agents: the sender's answer does not wait for the agents' connections.
        return agentFeed.PublishMessageAsync(message, assigneeId, senderKind == SenderKind.Agent ? senderConnectionId : null);
    }

    private async Task PublishChangeAsync(Conversation conversation)
    {
        recentInbound.Refresh(conversation);
        if (inboundReplica is not null && conversation.ChannelId != WebChannel)
        {
            await inboundReplica.ConversationChangedAsync(conversation.TenantId, conversation.Id).ConfigureAwait(false);
        }

        await agentFeed.PublishAsync(conversation.TenantId, ChatHubMethods.ConversationChanged, conversation).ConfigureAwait(false);
        PushToCustomers(conversation.TenantId, conversation.Id, ChatHubMethods.ConversationChanged, conversation);
    }

    /// <summary>An agent's reply on a platform channel goes out through the channel's sender (the widget's channel has none).</summary>
    private bool DeliversToPlatform(ChatCaller sender, Conversation conversation) =>
        sender.Kind == SenderKind.Agent && conversation.ChannelId != WebChannel && HasSender(conversation.ChannelId);

    // Not a lambda over the channel: its closure would be made on every send, a customer's too, before the checks above.
    private bool HasSender(string channelId)
    {
        var senders = catalog.GetServices<IChannelSender>();
        for (var i = 0; i < senders.Count; i++)
        {
            if (string.Equals(senders[i].ChannelId, channelId, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private void Validate(ChatCaller sender, SendRequest request)
    {
        if (request is null)
        {
            throw new ChatRequestException("The request is empty.");
        }

        if (string.IsNullOrWhiteSpace(request.ClientMessageId) || request.ClientMessageId.Length > MaxClientMessageIdLength)
        {
            throw new ChatRequestException($"ClientMessageId is required and at most {MaxClientMessageIdLength} characters.");
        }

        if (string.IsNullOrWhiteSpace(request.Content))
        {
            throw new ChatRequestException("Content is empty.");
        }

        if (request.Content.Length > _options.MaxContentLength)
        {
            throw new ChatRequestException($"Content is {request.Content.Length} characters; the most is {_options.MaxContentLength}.", 413);
        }

        var allowedKind = request.Kind is MessageKind.Text or MessageKind.Image or MessageKind.File
                          || (sender.Kind == SenderKind.Agent && request.Kind == MessageKind.Card);
        if (!allowedKind)
        {
            throw new ChatRequestException($"Kind {request.Kind} cannot be sent by a {sender.Kind.ToString().ToLowerInvariant()}.");
        }

        if (request.IsPrivate && sender.Kind != SenderKind.Agent)
        {
            throw new ChatRequestException("Only agents write private notes.", 403);
        }
    }

    [LoggerMessage(EventId = 40, Level = LogLevel.Information, Message = "Conversation {ConversationId} of tenant {TenantId} assigned to agent {AgentId}")]
    private static partial void LogAssigned(ILogger logger, long conversationId, string tenantId, string agentId);

    [LoggerMessage(EventId = 41, Level = LogLevel.Warning, Message = "Could not push {Method} to the customers of conversation {ConversationId}; they get it on resume")]
    private static partial void LogPushFailed(ILogger logger, Exception exception, string method, long conversationId);

    [LoggerMessage(EventId = 73, Level = LogLevel.Warning, Message = "Could not push again message {MessageId} of conversation {ConversationId}, which a retry found stored; its agents get it from Resume or with the conversation's next message.")]
    private static partial void LogRepublishFailed(ILogger logger, Exception exception, long messageId, long conversationId);

    [LoggerMessage(EventId = 49, Level = LogLevel.Warning, Message = "Closed customer connection {ConnectionId} of conversation {ConversationId}: more than {Bytes} bytes of pushes were waiting to be written to it (a device gone dark, or a client that does not read); its client reconnects and resumes.")]
    private static partial void LogBacklogFull(ILogger logger, string connectionId, long conversationId, long bytes);
}
