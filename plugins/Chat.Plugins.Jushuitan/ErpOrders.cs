using System.ComponentModel;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Options;

namespace Chat.Plugins.Jushuitan;

/// <summary>One order's cached answer; null when the ERP has no such order.</summary>
[ImmutableObject(true)]
internal sealed record CachedOrder(OrderInfo? Order);

/// <summary>The customer's order numbers seen in their messages, so the side panel can show them.</summary>
[ImmutableObject(true)]
internal sealed record CachedOrderNumbers(string[] Numbers);

/// <summary>
/// Orders through the cache (HybridCache: concurrent asks for one order make one ERP call). Failures are not cached,
/// so the next message asks the ERP again.
/// </summary>
internal sealed class ErpOrders(IErpOrderSource source, HybridCache cache, IOptions<JushuitanOptions> options)
{
    private const int MaxRemembered = 10;

    public string Name => source.Name;

    /// <summary>Why a lookup failed, for the agent.</summary>
    public static string Describe(Exception ex) => ex switch
    {
        OperationCanceledException => "The ERP did not answer in time.",
        JushuitanApiException api => "The ERP refused the lookup (" + api.Message + ").",
        _ => "The ERP could not be reached.",
    };

    public async Task<OrderInfo?> GetAsync(string orderNumber, CancellationToken cancellationToken)
    {
        var entry = await cache.GetOrCreateAsync(
            OrderKey(orderNumber),
            (source, orderNumber),
            static async (state, token) => new CachedOrder((await state.source.GetOrdersAsync([state.orderNumber], token).ConfigureAwait(false)).FirstOrDefault()),
            Entry(),
            cancellationToken: cancellationToken).ConfigureAwait(false);
        return entry.Order;
    }

    public ValueTask PutAsync(OrderInfo order, CancellationToken cancellationToken) =>
        cache.SetAsync(OrderKey(order.OrderNumber), new CachedOrder(order), Entry(), cancellationToken: cancellationToken);

    public async Task RememberAsync(ChannelIdentity customer, string tenantId, IEnumerable<string> orderNumbers, CancellationToken cancellationToken)
    {
        var known = await KnownAsync(customer, tenantId, cancellationToken).ConfigureAwait(false);
        var merged = orderNumbers.Concat(known).Distinct(StringComparer.Ordinal).Take(MaxRemembered).ToArray();
        await cache.SetAsync(CustomerKey(customer, tenantId), new CachedOrderNumbers(merged),
            new HybridCacheEntryOptions { Expiration = TimeSpan.FromDays(7), LocalCacheExpiration = TimeSpan.FromDays(7) }, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    public async Task<string[]> KnownAsync(ChannelIdentity customer, string tenantId, CancellationToken cancellationToken) =>
        (await cache.GetOrCreateAsync(CustomerKey(customer, tenantId), static _ => ValueTask.FromResult(new CachedOrderNumbers([])),
            new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableLocalCacheWrite | HybridCacheEntryFlags.DisableDistributedCacheWrite },
            cancellationToken: cancellationToken).ConfigureAwait(false)).Numbers;

    private HybridCacheEntryOptions Entry() => new() { Expiration = options.Value.CacheDuration, LocalCacheExpiration = options.Value.CacheDuration };

    private static string OrderKey(string orderNumber) => "jushuitan:order:" + orderNumber;

    private static string CustomerKey(ChannelIdentity customer, string tenantId) => $"jushuitan:customer:{tenantId}:{customer.ChannelId}:{customer.PlatformUserId}";
}

/// <summary>
/// The agent's side panel: one order by number, or the orders a customer named in their messages. An ERP that is slow
/// or down gives an "unavailable" context, never an exception.
/// </summary>
internal sealed class JushuitanContextProvider(ErpOrders orders, IOptions<JushuitanOptions> options) : ICustomerContextProvider
{
    public string Name => orders.Name;

    public async ValueTask<CustomerContext> GetContextAsync(CustomerContextQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var numbers = new List<string>();
        if (!string.IsNullOrWhiteSpace(query.OrderNumber))
        {
            numbers.Add(query.OrderNumber.Trim());
        }

        if (query.Customer is { } customer)
        {
            numbers.AddRange(await orders.KnownAsync(customer, query.TenantId, cancellationToken).ConfigureAwait(false));
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.LookupTimeout * 3);
        try
        {
            var found = await Task.WhenAll(numbers.Distinct(StringComparer.Ordinal).Select(n => orders.GetAsync(n, timeout.Token))).ConfigureAwait(false);
            return new CustomerContext { Source = Name, Orders = found.OfType<OrderInfo>().OrderByDescending(static o => o.PlacedAt).ToArray() };
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is OperationCanceledException or HttpRequestException or InvalidDataException or JushuitanApiException)
        {
            return CustomerContext.Unavailable(Name, ErpOrders.Describe(ex));
        }
    }
}
