namespace Chat.Plugins.Jushuitan;

/// <summary>
/// The ERP-specific part of the plugin: signing, endpoints and field mapping. Another ERP is another small class
/// of this interface; caching, order-number spotting, cards and time budgets stay as they are.
/// </summary>
internal interface IErpOrderSource
{
    /// <summary>The source's name on cards (<c>jushuitan</c>).</summary>
    string Name { get; }

    /// <summary>The orders with these shop order numbers, with their shipments; orders not found are left out.</summary>
    Task<IReadOnlyList<OrderInfo>> GetOrdersAsync(IReadOnlyList<string> orderNumbers, CancellationToken cancellationToken);

    /// <summary>Orders modified in a time range (at most 7 days), with their shipments, up to <paramref name="max"/>.</summary>
    Task<IReadOnlyList<OrderInfo>> GetModifiedOrdersAsync(DateTimeOffset from, DateTimeOffset to, int max, CancellationToken cancellationToken);
}
