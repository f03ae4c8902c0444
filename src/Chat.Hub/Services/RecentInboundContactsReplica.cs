using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Chat.Hub.Services;

/// <summary>
/// Keeps what every node's <see cref="RecentInboundContacts"/> holds current, through one Redis channel
/// (<c>Chat.InboundContacts</c>): a conversation changed on one node (accepted, transferred, resolved, reopened) or a
/// contact erased there is forgotten by the others at once. So the plugins on every node get a platform user's
/// conversation as it is now (an auto-reply that stays quiet once an agent has accepted it, wherever the agent is), and
/// an erased customer's next push on another node starts afresh without running the plugins twice.
/// </summary>
/// <remarks>
/// Best effort, like every push between nodes: while Redis does not carry them, what another node keeps may be up to
/// <see cref="RecentInboundContacts.Lifetime"/> old, as with no Redis, and the append still finds out an erased contact.
/// A node only forgets, never takes another node's copy, so pushes that arrive out of order cannot leave an older copy.
/// </remarks>
internal sealed partial class RecentInboundContactsReplica(RedisLink redis, RecentInboundContacts contacts, ILogger<RecentInboundContactsReplica> logger)
    : BackgroundService
{
    private static readonly RedisChannel Channel = RedisChannel.Literal("Chat.InboundContacts");

    private volatile bool _publishFailing;

    /// <summary>How long the node waits before it tries a failed subscription again.</summary>
    internal TimeSpan RetryInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A conversation changed on this node: the other nodes forget their copies.</summary>
    public ValueTask ConversationChangedAsync(string tenantId, long conversationId) => PublishAsync(tenantId, conversation: conversationId, contact: 0);

    /// <summary>A contact was erased on this node: the other nodes forget its conversation.</summary>
    public ValueTask ContactErasedAsync(string tenantId, long contactId) => PublishAsync(tenantId, conversation: 0, contact: contactId);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        redis.SubscribeWithRetriesAsync(Channel, Receive, ex => LogReadFailed(logger, ex), ex => LogSubscribeFailed(logger, ex), RetryInterval, stoppingToken);

    private async ValueTask PublishAsync(string tenantId, long conversation, long contact)
    {
        try
        {
            var connection = redis.ConnectionIfReady ?? await redis.Connection.ConfigureAwait(false);
            var message = redis.Message((tenantId, conversation, contact), static (writer, change) =>
            {
                writer.WriteString("t"u8, change.tenantId);
                if (change.conversation != 0)
                {
                    writer.WriteNumber("c"u8, change.conversation);
                }

                if (change.contact != 0)
                {
                    writer.WriteNumber("e"u8, change.contact);
                }
            });
            // Not waited for; while Redis is unreachable the client holds it for a while (and may still deliver it), and
            // says nothing of it, so that is told from the connection.
            connection.GetSubscriber().Publish(Channel, message, CommandFlags.FireAndForget);
            if (connection.IsConnected)
            {
                _publishFailing = false;
            }
            else
            {
                PublishFailed(null);
            }
        }
        catch (Exception ex)
        {
            // Whatever went wrong, the change is made; the other nodes' copies run out by themselves.
            PublishFailed(ex);
        }
    }

    private void PublishFailed(Exception? exception)
    {
        if (!_publishFailing)
        {
            _publishFailing = true;
            LogPublishFailed(logger, exception);
        }
    }

    /// <summary>Reads another node's change (throws for one it cannot read; the link logs it and reads the next).</summary>
    private ValueTask Receive(JsonElement change)
    {
        var tenantId = change.GetProperty("t"u8).GetString() ?? throw new JsonException("A change without a tenant.");
        if (change.TryGetProperty("c"u8, out var conversation))
        {
            contacts.ForgetConversation(tenantId, conversation.GetInt64());
        }

        if (change.TryGetProperty("e"u8, out var contact))
        {
            contacts.ForgetContact(tenantId, contact.GetInt64());
        }

        return ValueTask.CompletedTask;
    }

    [LoggerMessage(EventId = 64, Level = LogLevel.Warning, Message = "Could not subscribe to the other nodes' changes of platform users' conversations in Redis; until it works (tried again every second), a conversation changed on another node may be up to two minutes old when this node's plugins get it. Not logged again until it works.")]
    private static partial void LogSubscribeFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 65, Level = LogLevel.Warning, Message = "Could not tell the other nodes of a changed conversation or an erased contact (Redis is unreachable); their plugins may get a copy up to two minutes old. Not logged again until it works.")]
    private static partial void LogPublishFailed(ILogger logger, Exception? exception);

    [LoggerMessage(EventId = 66, Level = LogLevel.Warning, Message = "Could not read another node's change of a platform user's conversation; it was skipped.")]
    private static partial void LogReadFailed(ILogger logger, Exception exception);
}
