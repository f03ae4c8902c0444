namespace Chat.Plugins;

/// <summary>A parcel of an order.</summary>
public sealed record ShipmentInfo
{
    /// <summary>The carrier's name.</summary>
    public string? Carrier { get; init; }

    /// <summary>The tracking number.</summary>
    public required string TrackingNumber { get; init; }

    /// <summary>The parcel status in the source's words.</summary>
    public string? Status { get; init; }

    /// <summary>The newest tracking event, if known.</summary>
    public string? LastEvent { get; init; }

    /// <summary>When the status last changed.</summary>
    public DateTimeOffset? UpdatedAt { get; init; }
}
