using Chat.Hub.Endpoints;
using Chat.Runtime.Loading;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the Chat framework's endpoints into an ASP.NET Core application.</summary>
public static class ChatEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the framework's endpoints under a prefix: <c>GET {prefix}/plugins</c> lists every plugin with its
    /// status and reason.
    /// </summary>
    /// <param name="endpoints">The application's route builder.</param>
    /// <param name="prefix">The route prefix, for example <c>/chat</c>.</param>
    /// <returns>A convention builder for all the mapped endpoints (authorization, CORS, rate limiting).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="endpoints"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="prefix"/> is empty.</exception>
    public static IEndpointConventionBuilder MapChat(this IEndpointRouteBuilder endpoints, string prefix)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(prefix);
        var group = endpoints.MapGroup(prefix);
        group.MapGet("/plugins", static (IPluginCatalog catalog) => TypedResults.Ok(PluginStatusResponse.From(catalog.Plugins)))
            .WithName("ChatPlugins");
        return group;
    }
}
