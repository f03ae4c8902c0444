using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

// The evaluation host: the Chat runtime with every plugin found in plugins/ beside it, on embedded SQLite storage
// unless Chat:Storage:Provider says Postgres.
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

var app = builder.Build();
app.MapHealthChecks("/health");
app.MapChat("/chat");
app.MapGet("/", () => Results.Text("Chat sample host. GET /health, GET /chat/plugins.\n"));

app.Lifetime.ApplicationStarted.Register(() =>
{
    var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
    foreach (var address in addresses)
    {
        app.Logger.LogInformation("Chat sample host listening on {Address} (health: {Address}/health, plugins: {Address}/chat/plugins)", address, address, address);
    }
});

app.Run();
