using System.Text.Json;
using System.Text.RegularExpressions;
using Chat.Protocol;
using Microsoft.Extensions.Options;

namespace Chat.Plugins.Jushuitan;

/// <summary>
/// Spots order numbers in customers' text messages and attaches an order card for each (status, items, parcels and
/// tracking numbers) under <see cref="MessageMetadataKeys.Cards"/>. The ERP gets <see cref="JushuitanOptions.LookupTimeout"/>:
/// when it is slower or down, the message goes on in time with an "unavailable" card saying why.
/// </summary>
internal sealed class OrderCardPlugin : IChannelPlugin
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };
    private readonly ErpOrders _orders;
    private readonly JushuitanOptions _options;
    private readonly Regex _pattern;

    public OrderCardPlugin(ErpOrders orders, IOptions<JushuitanOptions> options)
    {
        _orders = orders;
        _options = options.Value;
        _options.Validate();
        _pattern = new Regex(_options.OrderNumberPattern, RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
    }

    public int Priority => PluginPriority.Enrichment;

    public async ValueTask OnMessageAsync(MessageContext context, CancellationToken cancellationToken)
    {
        var message = context.Message;
        if (message.Direction != MessageDirection.Inbound || message.Sender.Kind != SenderKind.Customer || message.Kind != MessageKind.Text)
        {
            return;
        }

        string[] numbers;
        try
        {
            numbers = _pattern.Matches(message.Content).Select(static m => m.Value).Distinct(StringComparer.Ordinal).Take(_options.MaxOrdersPerMessage).ToArray();
        }
        catch (RegexMatchTimeoutException)
        {
            return;
        }

        if (numbers.Length == 0)
        {
            return;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.LookupTimeout);
        var cards = await Task.WhenAll(numbers.Select(n => CardAsync(n, timeout.Token))).ConfigureAwait(false);
        var metadata = new Dictionary<string, string>(message.Metadata, StringComparer.Ordinal)
        {
            [MessageMetadataKeys.Cards] = JsonSerializer.Serialize(cards, Json),
        };
        context.Message = message with { Metadata = metadata };

        var found = cards.Where(static c => c.Type == "order").Select(static c => c.OrderNumber).ToArray();
        if (found.Length > 0)
        {
            var customer = new ChannelIdentity(context.Conversation.ChannelId, message.Sender.Id);
            await _orders.RememberAsync(customer, message.TenantId, found, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<OrderCard> CardAsync(string number, CancellationToken cancellationToken)
    {
        try
        {
            var order = await _orders.GetAsync(number, cancellationToken).ConfigureAwait(false);
            return order is null
                ? new OrderCard("not_found", _orders.Name, number) { Reason = "The ERP has no order with this number." }
                : new OrderCard("order", _orders.Name, number) { Order = order };
        }
        catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException or InvalidDataException or JushuitanApiException)
        {
            return new OrderCard("unavailable", _orders.Name, number) { Reason = ErpOrders.Describe(ex) };
        }
    }

    /// <summary>One card: <c>order</c>, <c>not_found</c> or <c>unavailable</c>.</summary>
    internal sealed record OrderCard(string Type, string Source, string OrderNumber)
    {
        public OrderInfo? Order { get; init; }

        public string? Reason { get; init; }
    }
}
