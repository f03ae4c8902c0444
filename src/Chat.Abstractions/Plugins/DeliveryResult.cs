namespace Chat.Plugins;

/// <summary>The outcome of one delivery attempt, with what the agent should be told.</summary>
public sealed record DeliveryResult
{
    /// <summary>The outcome.</summary>
    public DeliveryStatus Status { get; init; }

    /// <summary>The platform's id of the delivered message, when it gives one.</summary>
    public string? PlatformMessageId { get; init; }

    /// <summary>Why a retry is needed or why the delivery failed, for the agent.</summary>
    public string? Reason { get; init; }

    /// <summary>How long the platform asked to wait before the next attempt, if it said.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>The platform accepted the message.</summary>
    /// <param name="platformMessageId">The platform's id of the message, if any.</param>
    /// <returns>The result.</returns>
    public static DeliveryResult Sent(string? platformMessageId = null) =>
        new() { Status = DeliveryStatus.Sent, PlatformMessageId = platformMessageId };

    /// <summary>A transient failure.</summary>
    /// <param name="reason">What went wrong.</param>
    /// <param name="retryAfter">How long to wait, if the platform said.</param>
    /// <returns>The result.</returns>
    public static DeliveryResult Retry(string reason, TimeSpan? retryAfter = null) =>
        new() { Status = DeliveryStatus.Retry, Reason = reason, RetryAfter = retryAfter };

    /// <summary>A permanent failure.</summary>
    /// <param name="reason">Why, for the agent.</param>
    /// <returns>The result.</returns>
    public static DeliveryResult Failed(string reason) =>
        new() { Status = DeliveryStatus.Failed, Reason = reason };
}
