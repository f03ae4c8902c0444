namespace Chat;

/// <summary>Which way a message travels between the customer and the shop.</summary>
public enum MessageDirection
{
    /// <summary>From the customer to the shop (platform webhook, visitor widget).</summary>
    Inbound = 0,

    /// <summary>From the shop (an agent, a bot or the system) to the customer.</summary>
    Outbound = 1,
}
