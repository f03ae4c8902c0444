using Chat.Plugins;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Chat.Runtime.Tests.Infrastructure;

/// <summary>A real generic host running the Chat runtime, with its logs captured.</summary>
internal static class TestHost
{
    public static IHost Build(IDictionary<string, string?> settings, Action<IChatBuilder>? configure = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.Logging.AddFakeLogging();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        var chat = builder.Services.AddChat(builder.Configuration.GetSection("Chat"));
        configure?.Invoke(chat);
        return builder.Build();
    }

    public static async Task<IHost> StartAsync(IDictionary<string, string?> settings, Action<IChatBuilder>? configure = null)
    {
        var host = Build(settings, configure);
        await host.StartAsync();
        return host;
    }

    public static MessageContext NewMessage(string content = "hello", MessageKind kind = MessageKind.Text)
    {
        var conversation = new Conversation { Id = 7, TenantId = "t1", ChannelId = "web", ContactId = 3 };
        var message = new ChatMessage
        {
            Id = 1001,
            TenantId = "t1",
            ConversationId = 7,
            ChannelId = "web",
            Direction = MessageDirection.Inbound,
            Sender = new MessageSender(SenderKind.Customer, "3"),
            Kind = kind,
            Content = content,
        };
        return new MessageContext(message, conversation);
    }
}
