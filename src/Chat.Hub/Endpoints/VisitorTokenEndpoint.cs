using Chat.Hub.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Endpoints;

/// <summary><c>POST {prefix}/visitor-token</c>: an anonymous visitor token for the default tenant, when enabled.</summary>
internal static class VisitorTokenEndpoint
{
    public static IResult Issue(VisitorKeyRing keys, IOptions<ChatHubOptions> options, TimeProvider time)
    {
        var o = options.Value;
        if (!o.AllowAnonymousVisitors)
        {
            return Results.Problem("Anonymous visitors are not enabled (Chat:Hub:AllowAnonymousVisitors).", statusCode: 403);
        }

        var identity = new VisitorIdentity(o.DefaultTenantId, "anon-" + Guid.NewGuid().ToString("N"), time.GetUtcNow() + o.AnonymousVisitorLifetime);
        var token = VisitorTokens.Create(keys.Keys[0], identity);
        return Results.Ok(new { token, tenantId = identity.TenantId, customerId = identity.CustomerId, expiresAt = identity.ExpiresAt });
    }
}
