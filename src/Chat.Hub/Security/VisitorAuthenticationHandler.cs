using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Security;

/// <summary>Authenticates visitors by their visitor token, from <c>Authorization: Bearer</c> or (WebSockets, SSE) the <c>access_token</c> query value.</summary>
internal sealed class VisitorAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    VisitorKeyRing keys,
    TimeProvider time) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? token = null;
        var header = Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            token = header["Bearer ".Length..].Trim();
        }
        else if (Request.Query.TryGetValue("access_token", out var query))
        {
            token = query.ToString();
        }

        if (string.IsNullOrEmpty(token))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (!VisitorTokens.TryValidate(token, keys.Keys, time.GetUtcNow(), out var identity, out var error))
        {
            return Task.FromResult(AuthenticateResult.Fail(error!));
        }

        var claims = new List<Claim>
        {
            new(ChatAuthentication.VisitorTenantClaim, identity!.TenantId),
            new(ChatAuthentication.VisitorCustomerClaim, identity.CustomerId),
        };
        if (identity.DisplayName is { } name)
        {
            claims.Add(new Claim(ClaimTypes.Name, name));
        }

        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme.Name));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer realm=\"chat-visitor\"";
        return Task.CompletedTask;
    }
}
