using System.Text;
using Chat.Plugins;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Newtonsoft.Json;

namespace Chat.TestPlugins.Json13;

public sealed class Json13Options
{
    public string Greeting { get; set; } = "unset";
}

/// <summary>Binds its options from Chat:Plugins:&lt;id&gt; and tries to replace a host service in its own container.</summary>
public sealed class Json13Startup : IPluginStartup
{
    public void ConfigureServices(PluginStartupContext context, IServiceCollection services)
    {
        services.Configure<Json13Options>(context.Configuration);
        services.AddSingleton<Chat.IIdGenerator, ConstantIdGenerator>();
        services.AddSingleton(new StartupInfo(context.PluginId, context.PluginDirectory));
    }
}

public sealed record StartupInfo(string PluginId, string? Directory);

internal sealed class ConstantIdGenerator : Chat.IIdGenerator
{
    public long NextId() => 42;
}

/// <summary>Serializes with Newtonsoft.Json 13, uses the services the host lends, and handles a webhook.</summary>
public sealed class Json13Plugin(
    IOptions<Json13Options> options,
    ILogger<Json13Plugin> logger,
    TimeProvider time,
    IHttpClientFactory httpClientFactory,
    StartupInfo startup) : IChannelPlugin, IWebhookHandler
{
    public int Priority => 50;

    public string ChannelId => "json13";

    public ValueTask OnMessageAsync(MessageContext context, CancellationToken cancellationToken)
    {
        if (!context.Properties.TryGetValue("trace", out var value) || value is not List<string> list)
        {
            context.Properties["trace"] = list = [];
        }

        list.Add("json13");
        logger.LogInformation("json13 saw message {Content}", context.Message.Content);
        context.Properties["json13"] = JsonConvert.SerializeObject(new
        {
            newtonsoft = typeof(JsonConvert).Assembly.GetName().Version!.ToString(),
            greeting = options.Value.Greeting,
            timeProvider = time.GetType().FullName,
            httpClientFactory = httpClientFactory.GetType().FullName,
            pluginId = startup.PluginId,
            directory = startup.Directory,
        });
        return ValueTask.CompletedTask;
    }

    public ValueTask<WebhookResult> HandleAsync(WebhookRequest request, CancellationToken cancellationToken)
    {
        var text = Encoding.UTF8.GetString(request.Body.Span);
        var message = new InboundMessage { PlatformUserId = "user-1", PlatformMessageId = "m-1", Content = text };
        return ValueTask.FromResult(new WebhookResult(WebhookResponse.Text(200, "success"), [message]));
    }
}
