using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Chat.Hub;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.FileProviders;

// The evaluation host: the Chat runtime with every plugin found in plugins/ beside it, on embedded SQLite storage
// unless Chat:Storage:Provider says Postgres; the agent console and a demo shop with the visitor widget in wwwroot;
// demo agent accounts signed in with a cookie.
var builder = WebApplication.CreateBuilder(args);
var chat = builder.Services.AddChat(builder.Configuration.GetSection("Chat")).AddPlugins();

var storage = builder.Configuration.GetSection("Chat:Storage");
switch (storage["Provider"] ?? "Sqlite")
{
    case var p when p.Equals("Sqlite", StringComparison.OrdinalIgnoreCase):
        chat.AddSqliteStorage(options => storage.GetSection("Sqlite").Bind(options));
        break;
    case var p when p.Equals("Postgres", StringComparison.OrdinalIgnoreCase):
        chat.AddPostgresStorage(options => storage.GetSection("Postgres").Bind(options));
        break;
    case var p:
        throw new InvalidOperationException($"Chat:Storage:Provider is '{p}'; use 'Sqlite' (the default) or 'Postgres'.");
}

chat.AddHub(builder.Configuration.GetSection("Chat:Hub"));
if (builder.Configuration["Chat:Redis"] is { Length: > 0 } redis)
{
    chat.AddRedisBackplane(redis); // several sample hosts behind a load balancer share one conversation space
}

// Visitor tokens outlive a restart: without configured keys, one key is made once and kept beside the host.
builder.Services.PostConfigure<ChatHubOptions>(options =>
{
    if (options.VisitorTokenKeys.Count == 0)
    {
        options.VisitorTokenKeys.Add(DemoKeys.LoadOrCreate(builder.Configuration["Demo:VisitorKeyFile"] ?? "chat-visitor.key"));
    }
});

// Demo agent accounts (Demo:Agents), signed in with a cookie; a real shop plugs in its own sign-in instead.
var agents = builder.Configuration.GetSection("Demo:Agents").Get<DemoAgent[]>() ?? [];
builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie(options =>
{
    options.Cookie.Name = "chat-agent";
    options.Cookie.HttpOnly = true;
    options.Cookie.SameSite = SameSiteMode.Strict;
    options.SlidingExpiration = true;
    options.Events.OnRedirectToLogin = static context => { context.Response.StatusCode = 401; return Task.CompletedTask; };
    options.Events.OnRedirectToAccessDenied = static context => { context.Response.StatusCode = 403; return Task.CompletedTask; };
});

var app = builder.Build();
var webRoot = Path.Combine(AppContext.BaseDirectory, "wwwroot");
var files = new PhysicalFileProvider(webRoot);
app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
app.UseStaticFiles(new StaticFileOptions { FileProvider = files });
app.UseAuthentication();
app.UseAuthorization();
app.MapHealthChecks("/health");
app.MapChat("/chat");

app.MapPost("/demo/login", async (HttpContext http, LoginRequest login) =>
{
    var agent = agents.FirstOrDefault(a => string.Equals(a.Id, login.Id, StringComparison.Ordinal));
    if (agent is null || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(agent.Password ?? string.Empty), Encoding.UTF8.GetBytes(login.Password ?? string.Empty)))
    {
        return Results.Problem("Unknown account or wrong password.", statusCode: 401);
    }

    var claims = new List<Claim> { new(ClaimTypes.NameIdentifier, agent.Id), new(ClaimTypes.Name, agent.Name ?? agent.Id), new("tenant", agent.Tenant ?? "default") };
    claims.AddRange((agent.Teams ?? []).Select(static t => new Claim("team", t)));
    claims.AddRange((agent.Roles ?? []).Select(static r => new Claim(ClaimTypes.Role, r))); // chat-auditor: GET /chat/api/audit; chat-supervisor: hears every conversation
    await http.SignInAsync(new ClaimsPrincipal(new ClaimsIdentity(claims, CookieAuthenticationDefaults.AuthenticationScheme)));
    return Results.Ok(new { id = agent.Id, name = agent.Name ?? agent.Id, teams = agent.Teams ?? [] });
});
app.MapPost("/demo/logout", static async (HttpContext http) =>
{
    await http.SignOutAsync();
    return Results.NoContent();
});
app.MapGet("/demo/me", static (ClaimsPrincipal user) => user.Identity?.IsAuthenticated == true
    ? Results.Ok(new { id = user.FindFirstValue(ClaimTypes.NameIdentifier), name = user.FindFirstValue(ClaimTypes.Name), teams = user.FindAll("team").Select(static c => c.Value) })
    : Results.Problem("Not signed in.", statusCode: 401));
app.MapGet("/demo/agents", () => agents.Select(static a => new { id = a.Id, name = a.Name ?? a.Id, teams = a.Teams ?? [] }));

app.Lifetime.ApplicationStarted.Register(() =>
{
    var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
    foreach (var address in addresses)
    {
        app.Logger.LogInformation("Chat sample host listening on {Address} (health: {Address}/health, plugins: {Address}/chat/plugins)", address, address, address);
        app.Logger.LogInformation("Agent console: {Address}/console.html (demo accounts: {Accounts})", address, string.Join(", ", agents.Select(static a => $"{a.Id}/{a.Password}")));
        app.Logger.LogInformation("Demo shop with the visitor widget: {Address}/shop.html", address);
        app.Logger.LogInformation("Audit log of agents' access to customer data: {Address}/chat/api/audit (signed in as an account with the role chat-auditor)", address);
    }
});

app.Run();

internal sealed record LoginRequest(string? Id, string? Password);

internal sealed class DemoAgent
{
    public string Id { get; set; } = string.Empty;

    public string? Name { get; set; }

    public string? Password { get; set; }

    public string? Tenant { get; set; }

    public string[]? Teams { get; set; }

    public string[]? Roles { get; set; }
}

internal static class DemoKeys
{
    public static string LoadOrCreate(string path)
    {
        if (File.Exists(path))
        {
            return File.ReadAllText(path).Trim();
        }

        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        File.WriteAllText(path, key);
        return key;
    }
}
