namespace Chat.Plugins;

/// <summary>Delivers outbound messages to one platform. Called from a durable outbox, with retries.</summary>
public interface IChannelSender
{
    /// <summary>The channel id this sender delivers for; unique across plugins.</summary>
    string ChannelId { get; }

    /// <summary>Attempts one delivery.</summary>
    /// <param name="delivery">The message, its recipient and the attempt number.</param>
    /// <param name="cancellationToken">Cancelled when the host stops or the attempt times out.</param>
    /// <returns>Whether the platform took it, whether to retry, or why it failed for good.</returns>
    ValueTask<DeliveryResult> SendAsync(OutboundDelivery delivery, CancellationToken cancellationToken);
}
