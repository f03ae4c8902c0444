using System.IdentityModel.Tokens.Jwt;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;

namespace Chat.TestSupport;

/// <summary>
/// Agents' sign-in for test and load hosts: JWT bearer with a symmetric key, as a host would configure it for the
/// Chat hub (compiled into the projects that need it).
/// </summary>
internal static class TestAgentJwt
{
    /// <summary>JWT bearer as the default scheme: the agent hub's WebSocket token from the query; the customer hub left to visitor tokens.</summary>
    public static AuthenticationBuilder AddTestAgentJwt(this IServiceCollection services, byte[] key) =>
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(o =>
        {
            o.MapInboundClaims = false;
            o.TokenValidationParameters = new TokenValidationParameters
            {
                ValidateIssuer = false,
                ValidateAudience = false,
                IssuerSigningKey = new SymmetricSecurityKey(key),
                NameClaimType = "name",
                RoleClaimType = "role",
            };
            o.Events = new JwtBearerEvents
            {
                OnMessageReceived = context =>
                {
                    // The customer hub's bearer token is a visitor token, not a JWT: leave it to the visitor scheme
                    // (a failed JWT validation would keep its exception for the connection's lifetime; docs/hub.md).
                    if (context.Request.Path.StartsWithSegments("/chat/customer"))
                    {
                        context.NoResult();
                        return Task.CompletedTask;
                    }

                    // WebSockets cannot carry a header from a browser: SignalR sends the token in the query string.
                    if (context.Request.Path.StartsWithSegments("/chat/agent") && context.Request.Query.TryGetValue("access_token", out var token))
                    {
                        context.Token = token;
                    }

                    return Task.CompletedTask;
                },
            };
        });

    /// <summary>A signed agent token with the claims the hub reads: sub, tenant, name, team.</summary>
    public static string Create(byte[] key, string agentId, string tenant, DateTime? expires = null, IEnumerable<string>? teams = null,
        IEnumerable<(string Type, string Value)>? extraClaims = null)
    {
        var handler = new JwtSecurityTokenHandler();
        return handler.WriteToken(handler.CreateJwtSecurityToken(
            subject: new ClaimsIdentity([new Claim("sub", agentId), new Claim("tenant", tenant), new Claim("name", "Agent " + agentId),
                .. (teams ?? []).Select(t => new Claim("team", t)), .. (extraClaims ?? []).Select(c => new Claim(c.Type, c.Value))]),
            notBefore: (expires ?? DateTime.UtcNow).AddHours(-2),
            expires: expires ?? DateTime.UtcNow.AddHours(2),
            signingCredentials: new SigningCredentials(new SymmetricSecurityKey(key), SecurityAlgorithms.HmacSha256)));
    }
}
