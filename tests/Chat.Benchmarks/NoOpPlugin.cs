using Chat;
using Chat.Plugins;

namespace Chat.Benchmarks;

/// <summary>A plugin that looks at the message and completes synchronously: the hop cost is all framework.</summary>
public class NoOpPlugin(int priority) : IChannelPlugin
{
    public int Priority => priority;

    public ValueTask OnMessageAsync(MessageContext context, CancellationToken cancellationToken)
    {
        if (context.Message.Content.Length == 0)
        {
            context.Stop();
        }

        return ValueTask.CompletedTask;
    }

    public static MessageContext NewContext()
    {
        var conversation = new Conversation { Id = 1, TenantId = "t", ChannelId = "web", ContactId = 1 };
        var message = new ChatMessage
        {
            TenantId = "t",
            ChannelId = "web",
            ConversationId = 1,
            Sender = new MessageSender(SenderKind.Customer, "1"),
            Content = "where is my parcel?",
        };
        return new MessageContext(message, conversation);
    }
}

public sealed class NoOp0() : NoOpPlugin(0);

public sealed class NoOp1() : NoOpPlugin(1);

public sealed class NoOp2() : NoOpPlugin(2);

public sealed class NoOp3() : NoOpPlugin(3);

public sealed class NoOp4() : NoOpPlugin(4);

public sealed class NoOp5() : NoOpPlugin(5);

public sealed class NoOp6() : NoOpPlugin(6);

public sealed class NoOp7() : NoOpPlugin(7);
