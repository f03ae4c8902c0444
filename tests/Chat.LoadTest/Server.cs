using System.Text;
using Chat.Hub.Security;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.SignalR;
using Microsoft.IdentityModel.Tokens;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Chat.LoadTest;

/// <summary>The server side of a run: the Chat hub on a store, or a bare SignalR hub that only forwards to a group.</summary>
internal static class Server
{
    public static readonly byte[] VisitorKey = Encoding.UTF8.GetBytes("load-test-visitor-key-0123456789abcdef");
    public static readonly byte[] AgentKey = Encoding.UTF8.GetBytes("load-test-agent-jwt-key-0123456789abcdef");

    public static async Task<int> RunAsync(Args args)
    {
        var kind = args.Get("kind", "chat");
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole().SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls($"http://127.0.0.1:{args.Get("port", "0")}");
        builder.WebHost.ConfigureKestrel(k => k.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(5));
        if (kind == "bare")
        {
            builder.Services.AddSignalR().AddMessagePackProtocol();
        }
        else
        {
            var chat = builder.Services.AddChat();
            var postgres = args.GetOrNull("postgres");
            if (postgres is null)
            {
                chat.AddSqliteStorage(Path.Combine(Directory.CreateTempSubdirectory("chat-load-").FullName, "chat.db"));
            }
            else
            {
                chat.AddPostgresStorage(postgres);
            }

            chat.AddHub(o =>
            {
                o.VisitorTokenKeys.Add(Convert.ToBase64String(VisitorKey));
                o.CallsPerSecond = 1000;
                o.CallBurst = 1000;
            });
            builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(o =>
            {
                o.MapInboundClaims = false;
                o.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidateIssuer = false,
                    ValidateAudience = false,
                    IssuerSigningKey = new SymmetricSecurityKey(AgentKey),
                };
                o.Events = new JwtBearerEvents
                {
                    OnMessageReceived = c =>
                    {
                        // The customer hub's bearer token is a visitor token, not a JWT: leave it to the visitor scheme
                        // (a failed JWT validation would keep its exception for the connection's lifetime).
                        if (c.Request.Path.StartsWithSegments("/chat/customer"))
                        {
                            c.NoResult();
                            return Task.CompletedTask;
                        }

                        // Only the agent hub's WebSocket carries a JWT in the query; a customer's carries a visitor token.
                        if (c.Request.Path.StartsWithSegments("/chat/agent") && c.Request.Query.TryGetValue("access_token", out var token))
                        {
                            c.Token = token;
                        }

                        return Task.CompletedTask;
                    },
                };
            });
        }

        var app = builder.Build();
        if (kind == "bare")
        {
            app.MapHub<BareHub>("/bare");
        }
        else
        {
            app.UseAuthentication();
            app.UseAuthorization();
            app.MapChat("/chat");
        }

        await app.StartAsync();
        var url = app.Urls.First();
        Console.WriteLine($"READY {url}");
        // Runs until the orchestrator closes our standard input; "GC" collects garbage first, so idle memory is measured
        // without it (the same for both kinds of hub).
        while (await Console.In.ReadLineAsync() is { } line)
        {
            if (line == "GC")
            {
                GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                GC.WaitForPendingFinalizers();
                Console.WriteLine("GC-DONE");
            }
        }

        await app.StopAsync();
        return 0;
    }

    public static string VisitorToken(string customerId) =>
        VisitorTokens.Create(VisitorKey, new VisitorIdentity("load", customerId, DateTimeOffset.UtcNow.AddHours(2)));

    public static string AgentToken(string agentId)
    {
        var handler = new System.IdentityModel.Tokens.Jwt.JwtSecurityTokenHandler();
        return handler.WriteToken(handler.CreateJwtSecurityToken(
            subject: new System.Security.Claims.ClaimsIdentity([new System.Security.Claims.Claim("sub", agentId), new System.Security.Claims.Claim("tenant", "load")]),
            expires: DateTime.UtcNow.AddHours(2),
            signingCredentials: new SigningCredentials(new SymmetricSecurityKey(AgentKey), SecurityAlgorithms.HmacSha256)));
    }
}

/// <summary>The baseline: a hub that only forwards a customer's message to the agents' group.</summary>
internal sealed class BareHub : Microsoft.AspNetCore.SignalR.Hub
{
    public Task Join(string group) => Groups.AddToGroupAsync(Context.ConnectionId, group);

    public async Task<long> Send(string content)
    {
        await Clients.Group("agents").SendAsync("MessageReceived", content);
        return 1;
    }
}
