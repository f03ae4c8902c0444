namespace Chat.Plugins;

/// <summary>One line of an order.</summary>
public sealed record OrderItem
{
    /// <summary>The stock-keeping unit.</summary>
    public string? Sku { get; init; }

    /// <summary>The product name.</summary>
    public required string Name { get; init; }

    /// <summary>How many.</summary>
    public int Quantity { get; init; }

    /// <summary>The price of one.</summary>
    public decimal? UnitPrice { get; init; }
}
