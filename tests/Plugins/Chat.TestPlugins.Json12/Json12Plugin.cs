using Chat.Plugins;
using Newtonsoft.Json;

namespace Chat.TestPlugins.Json12;

/// <summary>Serializes with Newtonsoft.Json 12 and records which Newtonsoft.Json it really ran on.</summary>
public sealed class Json12Plugin : IChannelPlugin
{
    public int Priority => 100;

    public ValueTask OnMessageAsync(MessageContext context, CancellationToken cancellationToken)
    {
        Trace.Add(context, "json12");
        context.Properties["json12"] = JsonConvert.SerializeObject(new
        {
            newtonsoft = typeof(JsonConvert).Assembly.GetName().Version!.ToString(),
            content = context.Message.Content,
        });
        return ValueTask.CompletedTask;
    }
}

internal static class Trace
{
    public static void Add(MessageContext context, string id)
    {
        if (!context.Properties.TryGetValue("trace", out var value) || value is not List<string> list)
        {
            context.Properties["trace"] = list = [];
        }

        list.Add(id);
    }
}
