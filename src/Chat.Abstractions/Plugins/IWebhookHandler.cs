namespace Chat.Plugins;

/// <summary>
/// Receives a platform's HTTP pushes for one channel (<c>/chat/channels/{ChannelId}/webhook</c>): verifies the
/// signature, decrypts, and returns the reply plus the normalised inbound messages.
/// </summary>
public interface IWebhookHandler
{
    /// <summary>The channel id this handler serves; unique across plugins.</summary>
    string ChannelId { get; }

    /// <summary>Handles one push.</summary>
    /// <param name="request">The raw request.</param>
    /// <param name="cancellationToken">Cancelled when the platform gives up on the request.</param>
    /// <returns>The reply for the platform and the messages the push carried.</returns>
    ValueTask<WebhookResult> HandleAsync(WebhookRequest request, CancellationToken cancellationToken);
}
