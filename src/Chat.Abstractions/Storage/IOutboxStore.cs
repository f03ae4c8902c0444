using Chat.Plugins;

namespace Chat.Storage;

/// <summary>
/// The durable outbox of deliveries to platforms. A message stored with the metadata
/// <see cref="Protocol.MessageMetadataKeys.Deliver"/> = <c>"true"</c> gets its outbox entry in the same transaction,
/// so a delivery is never lost between storing a reply and sending it.
/// </summary>
public interface IOutboxStore
{
    /// <summary>
    /// Claims deliveries that are due, oldest first. A claimed delivery is not handed out again until
    /// <paramref name="lease"/> has passed, so a node that dies mid-attempt leaves it to another; each claim counts as an attempt.
    /// </summary>
    /// <param name="maxCount">The most deliveries to claim, 1 to 1,000.</param>
    /// <param name="lease">How long the claim holds.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The claimed deliveries, with their messages and recipients.</returns>
    ValueTask<IReadOnlyList<OutboxEntry>> ClaimDueAsync(int maxCount, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>Records the outcome of an attempt: <see cref="DeliveryStatus.Sent"/> and <see cref="DeliveryStatus.Failed"/>
    /// end the delivery; <see cref="DeliveryStatus.Retry"/> makes it due again at <paramref name="nextAttemptAt"/>.</summary>
    /// <param name="entry">The claimed delivery.</param>
    /// <param name="status">The outcome.</param>
    /// <param name="reason">Why it is retried or failed, if so.</param>
    /// <param name="nextAttemptAt">When to try again, for a retry.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the outcome is stored.</returns>
    ValueTask RecordAsync(OutboxEntry entry, DeliveryStatus status, string? reason, DateTimeOffset? nextAttemptAt, CancellationToken cancellationToken);
}

/// <summary>One claimed delivery: the stored message, the customer's identity on its platform, and which attempt this is.</summary>
/// <param name="Message">The stored message.</param>
/// <param name="Recipient">The customer's channel identity.</param>
/// <param name="Attempt">The attempt number, from 1.</param>
public sealed record OutboxEntry(ChatMessage Message, ChannelIdentity Recipient, int Attempt);
