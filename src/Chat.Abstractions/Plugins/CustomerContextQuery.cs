namespace Chat.Plugins;

/// <summary>What to look up: a customer by channel identity, one order by number, or both.</summary>
public sealed record CustomerContextQuery
{
    /// <summary>The tenant asking.</summary>
    public required string TenantId { get; init; }

    /// <summary>The customer's identity on a channel, if known.</summary>
    public ChannelIdentity? Customer { get; init; }

    /// <summary>An order number to look up, if known.</summary>
    public string? OrderNumber { get; init; }
}
