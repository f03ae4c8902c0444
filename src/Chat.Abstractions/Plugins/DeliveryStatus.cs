namespace Chat.Plugins;

/// <summary>The outcome of one delivery attempt.</summary>
public enum DeliveryStatus
{
    /// <summary>The platform accepted the message.</summary>
    Sent = 0,

    /// <summary>A transient failure: try again later.</summary>
    Retry = 1,

    /// <summary>A permanent failure (for example, the platform's reply window closed): do not try again.</summary>
    Failed = 2,
}
