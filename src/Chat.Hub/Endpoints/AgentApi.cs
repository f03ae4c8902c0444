using System.Globalization;
using Chat.Hub.Security;
using Chat.Plugins;
using Chat.Protocol;
using Chat.Runtime.Loading;
using Chat.Hub.Services;
using Chat.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Endpoints;

/// <summary>Read-only REST for agents, within the agent's tenant: conversation lists, history and the customer context panel.</summary>
internal static class AgentApi
{
    /// <summary>How long the context panel waits for the slowest context provider.</summary>
    private static readonly TimeSpan ContextTimeout = TimeSpan.FromSeconds(5);

    public static async Task<IResult> ListConversationsAsync(HttpContext http, IConversationStore conversations, IOptions<ChatHubOptions> options,
        ConversationStatus? status, string? assignee, int? limit, DateTimeOffset? before, long? beforeId)
    {
        if (ChatCaller.Agent(http.User, options.Value) is not { } agent)
        {
            return Results.Forbid();
        }

        var take = limit ?? 50;
        if (take is < 1 or > 1000)
        {
            return Results.Problem($"limit is {take}; it must be 1 to 1000.", statusCode: 400);
        }

        if (before.HasValue != beforeId.HasValue)
        {
            return Results.Problem("before and beforeId go together: the previous page's last conversation's updatedAt and id.", statusCode: 400);
        }

        var list = await conversations.ListConversationsAsync(new ConversationQuery
        {
            TenantId = agent.TenantId,
            Status = status,
            AssigneeId = assignee == "me" ? agent.Id : assignee,
            Limit = take,
            After = before is { } at ? new ConversationCursor { UpdatedAt = at, Id = beforeId!.Value } : null,
            Consistency = ReadConsistency.Relaxed,
        }, http.RequestAborted);
        return Results.Json(list, ChatJson.Options);
    }

    public static async Task<IResult> HistoryAsync(HttpContext http, ConversationService service, IOptions<ChatHubOptions> options,
        long id, long? after, int? limit)
    {
        if (ChatCaller.Agent(http.User, options.Value) is not { } agent)
        {
            return Results.Forbid();
        }

        try
        {
            return Results.Json(await service.ReadForAgentAsync(agent, id, after ?? 0, limit ?? 100, RemoteAddress(http), http.RequestAborted), ChatJson.Options);
        }
        catch (ChatRequestException ex)
        {
            return Results.Problem(ex.Message, statusCode: ex.StatusCode);
        }
    }

    /// <summary>
    /// The customer context panel: every context provider (ERP plugin) asked at once about the conversation's customer,
    /// or about one order number; a provider that fails or overruns the time limit is reported unavailable.
    /// </summary>
    public static async Task<IResult> ContextAsync(HttpContext http, ConversationService service, AgentAccessAudit audit, IPluginCatalog catalog, IOptions<ChatHubOptions> options,
        long id, string? order)
    {
        if (ChatCaller.Agent(http.User, options.Value) is not { } agent)
        {
            return Results.Forbid();
        }

        Conversation conversation;
        try
        {
            conversation = await service.GetForAgentAsync(agent, id, http.RequestAborted);
        }
        catch (ChatRequestException ex)
        {
            return Results.Problem(ex.Message, statusCode: ex.StatusCode);
        }

        if (order is { Length: > 64 })
        {
            return Results.Problem($"order is {order.Length} characters; the most is 64.", statusCode: 400);
        }

        try
        {
            await audit.RecordAsync(agent, AuditActions.ReadCustomerContext, conversation, string.IsNullOrWhiteSpace(order) ? null : "order=" + order.Trim(), RemoteAddress(http), http.RequestAborted);
        }
        catch (ChatRequestException ex)
        {
            return Results.Problem(ex.Message, statusCode: ex.StatusCode);
        }

        var query = new CustomerContextQuery
        {
            TenantId = agent.TenantId,
            Customer = new ChannelIdentity(conversation.ChannelId, conversation.ContactId.ToString(CultureInfo.InvariantCulture)),
            OrderNumber = string.IsNullOrWhiteSpace(order) ? null : order.Trim(),
        };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        timeout.CancelAfter(ContextTimeout);
        var answers = await Task.WhenAll(catalog.GetServices<ICustomerContextProvider>().Select(provider => AskAsync(provider, query, timeout.Token)));
        return Results.Json(answers, ChatJson.Options);
    }

    /// <summary>The auditor's view of the audit log: the caller's tenant's entries after an id, oldest first.</summary>
    public static async Task<IResult> AuditAsync(HttpContext http, IServiceProvider services, IOptions<ChatHubOptions> options,
        long? after, int? limit, string? agent, long? conversation)
    {
        if (ChatCaller.Agent(http.User, options.Value) is not { } auditor)
        {
            return Results.Forbid();
        }

        if (services.GetService<IAuditLog>() is not { } log)
        {
            return Results.Problem("No audit log is registered.", statusCode: 404);
        }

        var take = limit ?? 100;
        if (take is < 1 or > AuditQuery.MaxLimit || after < 0)
        {
            return Results.Problem($"limit is {take} and after is {after ?? 0}; limit must be 1 to {AuditQuery.MaxLimit} and after zero or more.", statusCode: 400);
        }

        var entries = await log.ReadAsync(new AuditQuery
        {
            TenantId = auditor.TenantId,
            AfterId = after ?? 0,
            ActorId = string.IsNullOrEmpty(agent) ? null : agent,
            ConversationId = conversation,
            Limit = take,
        }, http.RequestAborted);
        return Results.Json(entries, ChatJson.Options);
    }

    /// <summary>
    /// Erases a customer's data on their request: recorded in the audit log first, then the contact, its identities,
    /// conversations, messages and deliveries go in one transaction. 404 when the tenant has no such contact.
    /// </summary>
    public static async Task<IResult> EraseContactAsync(HttpContext http, IServiceProvider services, AgentAccessAudit audit, RecentInboundContacts recentInbound,
        IOptions<ChatHubOptions> options, long id)
    {
        if (ChatCaller.Agent(http.User, options.Value) is not { } officer)
        {
            return Results.Forbid();
        }

        if (services.GetService<IContactEraser>() is not { } eraser)
        {
            return Results.Problem("The storage cannot erase contacts (no IContactEraser is registered).", statusCode: 501);
        }

        try
        {
            await audit.RecordAsync(officer, AuditActions.EraseContact, conversationId: null, contactId: id, detail: null, RemoteAddress(http), http.RequestAborted);
        }
        catch (ChatRequestException ex)
        {
            return Results.Problem(ex.Message, statusCode: ex.StatusCode);
        }

        var erased = await eraser.EraseContactAsync(officer.TenantId, id, http.RequestAborted);
        recentInbound.ForgetContact(officer.TenantId, id);
        if (erased.Contacts > 0 && services.GetService<RecentInboundContactsReplica>() is { } replica)
        {
            await replica.ContactErasedAsync(officer.TenantId, id);
        }

        return erased.Contacts == 0
            ? Results.Problem($"Contact {id} was not found.", statusCode: 404)
            : Results.Json(erased, ChatJson.Options);
    }

    private static string? RemoteAddress(HttpContext http) => http.Connection.RemoteIpAddress?.ToString();

    private static async Task<CustomerContext> AskAsync(ICustomerContextProvider provider, CustomerContextQuery query, CancellationToken cancellationToken)
    {
        try
        {
            return await provider.GetContextAsync(query, cancellationToken);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return CustomerContext.Unavailable(provider.Name, cancellationToken.IsCancellationRequested ? "It did not answer in time." : "It failed: " + ex.Message);
        }
    }
}
