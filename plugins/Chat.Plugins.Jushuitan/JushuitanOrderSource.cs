using System.Globalization;
using System.Text.Json.Nodes;

namespace Chat.Plugins.Jushuitan;

/// <summary>Jushuitan's endpoints and fields: <c>/open/orders/single/query</c> and <c>/open/logistic/query</c>.</summary>
internal sealed class JushuitanOrderSource(JushuitanClient client) : IErpOrderSource
{
    private const int PageSize = 50;
    private static readonly TimeSpan ChinaOffset = TimeSpan.FromHours(8);

    public string Name => "jushuitan";

    public async Task<IReadOnlyList<OrderInfo>> GetOrdersAsync(IReadOnlyList<string> orderNumbers, CancellationToken cancellationToken)
    {
        if (orderNumbers.Count == 0)
        {
            return [];
        }

        var ids = new JsonArray(orderNumbers.Select(static n => (JsonNode)n!).ToArray());
        var orders = await client.CallAsync("open/orders/single/query", new JsonObject { ["so_ids"] = ids, ["page_index"] = 1, ["page_size"] = PageSize }, cancellationToken).ConfigureAwait(false);
        var shipments = await client.CallAsync("open/logistic/query", new JsonObject { ["so_ids"] = ids.DeepClone(), ["page_index"] = 1, ["page_size"] = PageSize }, cancellationToken).ConfigureAwait(false);
        return Map(orders, shipments);
    }

    public async Task<IReadOnlyList<OrderInfo>> GetModifiedOrdersAsync(DateTimeOffset from, DateTimeOffset to, int max, CancellationToken cancellationToken)
    {
        var result = new List<OrderInfo>();
        for (var page = 1; result.Count < max; page++)
        {
            var biz = new JsonObject { ["modified_begin"] = Format(from), ["modified_end"] = Format(to), ["page_index"] = page, ["page_size"] = PageSize };
            var orders = await client.CallAsync("open/orders/single/query", biz, cancellationToken).ConfigureAwait(false);
            var shipments = await client.CallAsync("open/logistic/query", (JsonObject)biz.DeepClone(), cancellationToken).ConfigureAwait(false);
            var mapped = Map(orders, shipments);
            result.AddRange(mapped.Take(max - result.Count));
            if (mapped.Count < PageSize || orders["has_next"]?.GetValue<bool>() == false)
            {
                break;
            }
        }

        return result;
    }

    private static List<OrderInfo> Map(JsonObject orders, JsonObject shipments)
    {
        var parcels = new Dictionary<string, List<ShipmentInfo>>(StringComparer.Ordinal);
        foreach (var row in Rows(shipments))
        {
            if (Text(row, "so_id") is { } soId && Text(row, "l_id") is { Length: > 0 } waybill)
            {
                if (!parcels.TryGetValue(soId, out var list))
                {
                    parcels[soId] = list = [];
                }

                list.Add(new ShipmentInfo
                {
                    TrackingNumber = waybill,
                    Carrier = Text(row, "logistics_company"),
                    Status = Text(row, "status"),
                    UpdatedAt = Time(row, "send_date"),
                });
            }
        }

        var result = new List<OrderInfo>();
        foreach (var row in Rows(orders))
        {
            if (Text(row, "so_id") is not { Length: > 0 } soId)
            {
                continue;
            }

            var shipped = parcels.TryGetValue(soId, out var found) ? found : [];
            if (shipped.Count == 0 && Text(row, "l_id") is { Length: > 0 } waybill)
            {
                shipped = [new ShipmentInfo { TrackingNumber = waybill, Carrier = Text(row, "logistics_company"), UpdatedAt = Time(row, "send_date") }];
            }

            result.Add(new OrderInfo
            {
                OrderNumber = soId,
                Status = Text(row, "status") ?? Text(row, "shop_status") ?? "unknown",
                PlacedAt = Time(row, "order_date"),
                Total = Decimal(row, "pay_amount"),
                Currency = "CNY",
                Items = (row["items"] as JsonArray ?? []).OfType<JsonObject>().Select(static item => new OrderItem
                {
                    Name = Text(item, "name") ?? Text(item, "sku_id") ?? "?",
                    Sku = Text(item, "sku_id"),
                    Quantity = (int)(Decimal(item, "qty") ?? 0),
                    UnitPrice = Decimal(item, "price"),
                }).ToArray(),
                Shipments = shipped,
            });
        }

        return result;
    }

    private static IEnumerable<JsonObject> Rows(JsonObject data) => (data["orders"] as JsonArray ?? []).OfType<JsonObject>();

    private static string? Text(JsonObject row, string name) => row[name] is JsonValue value ? value.ToString() : null;

    private static decimal? Decimal(JsonObject row, string name) =>
        decimal.TryParse(Text(row, name), NumberStyles.Number, CultureInfo.InvariantCulture, out var d) ? d : null;

    private static DateTimeOffset? Time(JsonObject row, string name) =>
        DateTime.TryParseExact(Text(row, name), "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out var local)
            ? new DateTimeOffset(local, ChinaOffset)
            : null;

    private static string Format(DateTimeOffset time) => time.ToOffset(ChinaOffset).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
}
