using Chat.Hub.Endpoints;
using Chat.Hub.Hubs;
using Chat.Hub.Security;
using Chat.Hub.Services;
using Chat.Runtime.Loading;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the Chat framework's endpoints into an ASP.NET Core application.</summary>
public static class ChatEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the framework's endpoints under a prefix: the customer hub <c>{prefix}/customer</c> (visitor token), the
    /// agent hub <c>{prefix}/agent</c> (the <c>ChatAgent</c> policy), platform webhooks
    /// <c>{prefix}/channels/{channelId}/webhook</c>, agents' REST <c>{prefix}/api/conversations</c> and
    /// <c>{prefix}/api/conversations/{id}/messages</c> and <c>{prefix}/api/conversations/{id}/context</c> (the customer's
    /// orders from the context providers), the audit log of agents' access <c>{prefix}/api/audit</c> (the
    /// <c>ChatAuditor</c> policy), erasing a customer's data on request <c>DELETE {prefix}/api/contacts/{id}</c> (the
    /// <c>ChatPrivacy</c> policy), anonymous visitor tokens <c>POST {prefix}/visitor-token</c>
    /// (when enabled), and <c>GET {prefix}/plugins</c>.
    /// </summary>
    /// <param name="endpoints">The application's route builder.</param>
    /// <param name="prefix">The route prefix, for example <c>/chat</c>.</param>
    /// <returns>A convention builder for all the mapped endpoints (authorization, CORS, rate limiting).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="endpoints"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="prefix"/> is empty.</exception>
    /// <remarks>The hubs, webhooks and REST need <c>AddHub()</c> on the Chat builder; without it only <c>{prefix}/plugins</c> is mapped.</remarks>
    public static IEndpointConventionBuilder MapChat(this IEndpointRouteBuilder endpoints, string prefix)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(prefix);
        var group = endpoints.MapGroup(prefix);
        group.MapGet("/plugins", static (IPluginCatalog catalog) => TypedResults.Ok(PluginStatusResponse.From(catalog.Plugins)))
            .WithName("ChatPlugins");

        if (endpoints.ServiceProvider.GetService<IServiceProviderIsService>()?.IsService(typeof(ConversationService)) != true)
        {
            return group;
        }

        group.MapHub<CustomerHub>("/customer", static o => o.AllowStatefulReconnects = true)
            .RequireAuthorization(ChatAuthentication.CustomerPolicy)
            .RequireAllowedOrigin();
        group.MapHub<AgentHub>("/agent", static o => o.AllowStatefulReconnects = true)
            .RequireAuthorization(ChatAuthentication.AgentPolicy)
            .RequireAllowedOrigin();
        group.MapMethods("/channels/{channelId}/webhook", [HttpMethods.Get, HttpMethods.Post], WebhookEndpoint.HandleAsync)
            .DisableAntiforgery();
        group.MapGet("/api/conversations", AgentApi.ListConversationsAsync).RequireAuthorization(ChatAuthentication.AgentPolicy);
        group.MapGet("/api/conversations/{id:long}/messages", AgentApi.HistoryAsync).RequireAuthorization(ChatAuthentication.AgentPolicy);
        group.MapGet("/api/conversations/{id:long}/context", AgentApi.ContextAsync).RequireAuthorization(ChatAuthentication.AgentPolicy);
        group.MapGet("/api/audit", AgentApi.AuditAsync).RequireAuthorization(ChatAuthentication.AuditorPolicy);
        group.MapDelete("/api/contacts/{id:long}", AgentApi.EraseContactAsync).RequireAuthorization(ChatAuthentication.PrivacyPolicy);
        group.MapPost("/visitor-token", VisitorTokenEndpoint.Issue).RequireAllowedOrigin();
        RequestUrlLogging.WarnIfOn(endpoints.ServiceProvider, prefix);
        return group;
    }
}
