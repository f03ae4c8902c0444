namespace Chat.Plugins;

/// <summary>An order as the agent sees it on an order card.</summary>
public sealed record OrderInfo
{
    /// <summary>The order number the customer knows.</summary>
    public required string OrderNumber { get; init; }

    /// <summary>The order status in the source's words.</summary>
    public required string Status { get; init; }

    /// <summary>When the order was placed.</summary>
    public DateTimeOffset? PlacedAt { get; init; }

    /// <summary>The amount paid.</summary>
    public decimal? Total { get; init; }

    /// <summary>The ISO 4217 currency of <see cref="Total"/>.</summary>
    public string? Currency { get; init; }

    /// <summary>The order lines.</summary>
    public IReadOnlyList<OrderItem> Items { get; init; } = [];

    /// <summary>The parcels the order went out in.</summary>
    public IReadOnlyList<ShipmentInfo> Shipments { get; init; } = [];
}
