using Chat.Hub.Security;
using Chat.Hub.Services;
using Chat.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Endpoints;

/// <summary>Read-only REST for agents: conversation lists and history, within the agent's tenant.</summary>
internal static class AgentApi
{
    public static async Task<IResult> ListConversationsAsync(HttpContext http, IConversationStore conversations, IOptions<ChatHubOptions> options,
        ConversationStatus? status, string? assignee, int? limit)
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

        var list = await conversations.ListConversationsAsync(new ConversationQuery
        {
            TenantId = agent.TenantId,
            Status = status,
            AssigneeId = assignee == "me" ? agent.Id : assignee,
            Limit = take,
            Consistency = ReadConsistency.Relaxed,
        }, http.RequestAborted);
        return Results.Ok(list);
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
            var conversation = await service.GetForAgentAsync(agent, id, http.RequestAborted);
            return Results.Ok(await service.ReadAsync(agent.TenantId, conversation.Id, after ?? 0, limit ?? 100, includePrivate: true, http.RequestAborted));
        }
        catch (ChatRequestException ex)
        {
            return Results.Problem(ex.Message, statusCode: ex.StatusCode);
        }
    }
}
