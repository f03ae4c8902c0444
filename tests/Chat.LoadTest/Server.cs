using System.Globalization;
using System.Text;
using Chat.Hub.Security;
using Chat.TestSupport;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
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
                // By default every agent hears every message, as the bare hub forwards each to the agents' group;
                // "own": each agent hears the conversations assigned to it (the hub's default).
                o.AgentsHearEveryMessage = args.Get("agents-hear", "all") == "all";
            });
            chat.AddPlugin<LoadChannel>("load");
            if (args.GetOrNull("redis") is { } redis)
            {
                chat.AddRedisBackplane(redis); // one node of several: what the backplane costs it (claims on pushes, the feeds' publications)
            }
            builder.Services.AddTestAgentJwt(AgentKey);
        }

        var app = builder.Build();
        if (kind == "bare")
        {
            app.MapHub<BareHub>("/bare");
            app.MapPost("/bare/webhook", async (HttpContext http, IHubContext<BareHub> hub) =>
            {
                // The baseline of a push: read it, check its signature, forward the text to the agents, answer.
                using var buffer = new MemoryStream();
                await http.Request.Body.CopyToAsync(buffer);
                if (!Webhooks.Verify(http.Request.Headers[Webhooks.SignatureHeader], buffer.GetBuffer().AsSpan(0, (int)buffer.Length)))
                {
                    return Results.Text("bad signature", statusCode: 401);
                }

                await hub.Clients.Group("agents").SendAsync("MessageReceived", Webhooks.Read(buffer.GetBuffer().AsSpan(0, (int)buffer.Length))!.Text);
                return Results.Text("success");
            });
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
        var stopping = new TaskCompletionSource();
        var reporting = Compilation.ReportAsync(stopping.Task); // the warm-up lasts until the compilers are quiet
        // Runs until the orchestrator closes our standard input; "GC" collects garbage first, so idle memory is measured
        // without it (the same for both kinds of hub); "MEASURE <start> <end>" marks the measured window, and "PAUSES"
        // answers the collector's pauses in it once it has ended.
        var pauses = new GcWindow();
        while (await StandardInputLines.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("MEASURE ", StringComparison.Ordinal))
            {
                var window = line.Split(' ');
                pauses.Measure(long.Parse(window[1], CultureInfo.InvariantCulture), long.Parse(window[2], CultureInfo.InvariantCulture));
            }
            else if (line == "PAUSES")
            {
                Console.WriteLine(await pauses.LineAsync());
            }
            else if (line == "GC")
            {
                GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                GC.WaitForPendingFinalizers();
                Console.WriteLine("GC-DONE");
            }
        }

        stopping.SetResult();
        await reporting;
        await app.StopAsync();
        return 0;
    }

    public static string VisitorToken(string customerId) =>
        VisitorTokens.Create(VisitorKey, new VisitorIdentity("load", customerId, DateTimeOffset.UtcNow.AddHours(2)));

    public static string AgentToken(string agentId) => TestAgentJwt.Create(AgentKey, agentId, "load");
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
