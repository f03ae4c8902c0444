namespace Chat.Plugins;

/// <summary>What a webhook handler made of a push: the reply for the platform and the messages it carried.</summary>
/// <remarks>The hub stores <see cref="Messages"/> durably before it sends <see cref="Response"/>.</remarks>
public sealed class WebhookResult
{
    /// <summary>Creates a result.</summary>
    /// <param name="response">The reply for the platform.</param>
    /// <param name="messages">The normalised inbound messages, possibly none.</param>
    /// <exception cref="ArgumentNullException">A parameter is null.</exception>
    public WebhookResult(WebhookResponse response, IReadOnlyList<InboundMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(messages);
        Response = response;
        Messages = messages;
    }

    /// <summary>The reply for the platform.</summary>
    public WebhookResponse Response { get; }

    /// <summary>The normalised inbound messages, possibly none.</summary>
    public IReadOnlyList<InboundMessage> Messages { get; }

    /// <summary>A result that carries no messages (a verification challenge, a rejected push).</summary>
    /// <param name="response">The reply.</param>
    /// <returns>The result.</returns>
    public static WebhookResult ReplyOnly(WebhookResponse response) => new(response, []);
}
