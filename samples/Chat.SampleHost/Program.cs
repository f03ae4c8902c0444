using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

// The evaluation host: the Chat runtime with every plugin found in plugins/ beside it.
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddChat(builder.Configuration.GetSection("Chat")).AddPlugins();

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
