using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Endpoints;

/// <summary>
/// Refuses browser connections from origins the host has not allowed (cross-site WebSocket hijacking: a page on
/// another site opening a socket with the visitor's or agent's credentials).
/// </summary>
internal static class OriginCheck
{
    public static TBuilder RequireAllowedOrigin<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.Add(static endpoint =>
        {
            var inner = endpoint.RequestDelegate;
            if (inner is null)
            {
                return;
            }

            endpoint.RequestDelegate = context =>
            {
                var origin = context.Request.Headers.Origin.ToString();
                if (origin.Length == 0 || IsAllowed(origin, context))
                {
                    return inner(context);
                }

                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                return context.Response.WriteAsync($"Origin '{origin}' is not allowed to connect; add it to Chat:Hub:AllowedOrigins.");
            };
        });
        return builder;
    }

    private static bool IsAllowed(string origin, HttpContext context)
    {
        var allowed = context.RequestServices.GetRequiredService<IOptions<ChatHubOptions>>().Value.AllowedOrigins;
        foreach (var entry in allowed)
        {
            if (entry == "*" || string.Equals(entry.TrimEnd('/'), origin, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        // Same origin: the page was served by this host.
        return Uri.TryCreate(origin, UriKind.Absolute, out var uri)
               && string.Equals(uri.Scheme, context.Request.Scheme, StringComparison.OrdinalIgnoreCase)
               && string.Equals(uri.Authority, context.Request.Host.Value, StringComparison.OrdinalIgnoreCase);
    }
}
