using Chat.Hub.Hubs;
using Chat.Plugins;
using Chat.Protocol;
using Chat.Runtime.Loading;
using Chat.Storage;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Services;

/// <summary>
/// Delivers outbound messages to their platforms from the durable outbox: claims due entries (under a lease, so a
/// node that dies mid-attempt leaves them to another), calls the channel's <see cref="IChannelSender"/> with a
/// timeout, retries with exponential backoff, ends on success or a permanent failure, and tells the tenant's agents
/// each delivery's state.
/// </summary>
internal sealed partial class OutboxWorker(
    IOutboxStore outbox,
    IMessageStore messages,
    IPluginCatalog catalog,
    AgentFeed agentFeed,
    IOptions<ChatHubOptions> options,
    TimeProvider time,
    ChatHubMetrics metrics,
    ILogger<OutboxWorker> logger) : BackgroundService
{
    private const int ClaimSize = 32;
    private const int ReplyWindow = 50;
    private static readonly TimeSpan IdlePoll = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMinutes(5);
    private readonly SemaphoreSlim _signal = new(0, 1);

    /// <summary>Wakes the worker: a message to deliver was just stored.</summary>
    public void Notify()
    {
        try
        {
            _signal.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled.
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        var lease = o.DeliveryTimeout + TimeSpan.FromSeconds(30);
        while (!stoppingToken.IsCancellationRequested)
        {
            IReadOnlyList<OutboxEntry> due;
            try
            {
                due = await outbox.ClaimDueAsync(ClaimSize, lease, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogClaimFailed(logger, ex);
                due = [];
            }

            if (due.Count == 0)
            {
                try
                {
                    await _signal.WaitAsync(IdlePoll, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            await Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = stoppingToken },
                (entry, token) => new ValueTask(DeliverAsync(entry, token))).ConfigureAwait(false);
        }
    }

    private async Task DeliverAsync(OutboxEntry entry, CancellationToken stoppingToken)
    {
        var o = options.Value;
        var message = entry.Message;
        var sender = catalog.GetServices<IChannelSender>().FirstOrDefault(s => string.Equals(s.ChannelId, message.ChannelId, StringComparison.Ordinal));
        DeliveryResult result;
        if (sender is null)
        {
            result = DeliveryResult.Failed($"No active plugin delivers to channel '{message.ChannelId}'.");
        }
        else
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            timeout.CancelAfter(o.DeliveryTimeout);
            try
            {
                var inReplyTo = await FindInReplyToAsync(message, timeout.Token).ConfigureAwait(false);
                result = await sender.SendAsync(new OutboundDelivery { Message = message, Recipient = entry.Recipient, Attempt = entry.Attempt, InReplyTo = inReplyTo }, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return; // the lease runs out and the next start (or another node) tries again
            }
            catch (Exception ex)
            {
                result = DeliveryResult.Retry(timeout.IsCancellationRequested
                    ? $"The platform did not answer within {o.DeliveryTimeout.TotalSeconds:0} s."
                    : $"The channel plugin failed: {ex.Message}");
            }
        }

        DateTimeOffset? next = null;
        if (result.Status == DeliveryStatus.Retry)
        {
            if (entry.Attempt >= o.MaxDeliveryAttempts)
            {
                result = DeliveryResult.Failed($"Gave up after {entry.Attempt} attempts: {result.Reason}");
            }
            else
            {
                var backoff = o.DeliveryRetryDelay * Math.Pow(2, entry.Attempt - 1);
                next = time.GetUtcNow() + (result.RetryAfter ?? (backoff > MaxRetryDelay ? MaxRetryDelay : backoff));
            }
        }

        try
        {
            await outbox.RecordAsync(entry, result.Status, result.Reason, next, stoppingToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogRecordFailed(logger, ex, message.Id); // the lease runs out and the delivery is tried again
            return;
        }

        metrics.Delivery(message.ChannelId, result.Status);
        if (result.Status == DeliveryStatus.Failed)
        {
            LogDeliveryFailed(logger, message.Id, message.ChannelId, result.Reason);
        }

        // Queued for the tenant's agents (the feed logs a push that fails).
        await agentFeed.PublishAsync(message.TenantId, ChatHubMethods.DeliveryChanged, new DeliveryEvent
        {
            ConversationId = message.ConversationId,
            MessageId = message.Id,
            Seq = message.Seq,
            Status = result.Status,
            Reason = result.Reason,
            Attempt = entry.Attempt,
        }).ConfigureAwait(false);
    }

    /// <summary>The customer's latest message before <paramref name="reply"/>, looked for among the messages just before it.</summary>
    private async Task<ChatMessage?> FindInReplyToAsync(ChatMessage reply, CancellationToken cancellationToken)
    {
        var window = await messages.ReadAfterAsync(new MessageQuery
        {
            TenantId = reply.TenantId,
            ConversationId = reply.ConversationId,
            AfterSeq = Math.Max(0, reply.Seq - ReplyWindow - 1),
            Limit = ReplyWindow,
        }, cancellationToken).ConfigureAwait(false);
        ChatMessage? found = null;
        foreach (var candidate in window)
        {
            if (candidate.Seq < reply.Seq && candidate.Direction == MessageDirection.Inbound && candidate.Sender.Kind == SenderKind.Customer)
            {
                found = candidate;
            }
        }

        return found;
    }

    [LoggerMessage(EventId = 60, Level = LogLevel.Warning, Message = "Could not claim due deliveries from the outbox")]
    private static partial void LogClaimFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 61, Level = LogLevel.Warning, Message = "Could not record the delivery of message {MessageId}")]
    private static partial void LogRecordFailed(ILogger logger, Exception exception, long messageId);

    [LoggerMessage(EventId = 62, Level = LogLevel.Warning, Message = "Delivery of message {MessageId} to channel {ChannelId} failed for good: {Reason}")]
    private static partial void LogDeliveryFailed(ILogger logger, long messageId, string channelId, string? reason);
}
