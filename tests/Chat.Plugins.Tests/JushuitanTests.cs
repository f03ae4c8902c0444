using System.Text.Json.Nodes;
using Chat.Plugins.Jushuitan;
using Chat.Plugins.Tests.Infrastructure;
using Chat.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Configuration;

namespace Chat.Plugins.Tests;

/// <summary>The vector of shared/protocols/jushuitan-erp.md, lookups against a fake ERP, order cards, caching and an ERP that is slow or down.</summary>
public sealed class JushuitanTests : IAsyncLifetime
{
    private FakePlatform _fake = null!;
    private readonly List<ServiceProvider> _services = [];

    public async Task InitializeAsync()
    {
        _fake = await FakePlatform.StartAsync();
        _fake.AddOrder("2026112012345", "Sent", "SF1234567890", "SF Express");
        _fake.AddOrder("2026112099999", "WaitConfirm");
    }

    public async Task DisposeAsync()
    {
        foreach (var services in _services)
        {
            await services.DisposeAsync();
        }

        await _fake.DisposeAsync();
    }

    /// <summary>The plugin's own container, composed by its startup class as the host would.</summary>
    private ServiceProvider Compose(Action<JushuitanOptions>? configure = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ApiBaseAddress"] = _fake.BaseAddress.ToString(),
            ["AppKey"] = FakePlatform.JstAppKey,
            ["AppSecret"] = FakePlatform.JstAppSecret,
            ["AccessToken"] = FakePlatform.JstAccessToken,
            ["LookupTimeout"] = "00:00:03", // generous: a cold first call on a busy CI machine; the timeout test sets its own
        };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<IHttpClientFactory>(new TestHttpClientFactory());
        services.AddLogging();
        new JushuitanStartup().ConfigureServices(new PluginStartupContext("jushuitan", null, configuration), services);
        if (configure is not null)
        {
            services.PostConfigure(configure);
        }

        services.AddSingleton<OrderCardPlugin>();
        services.AddSingleton<JushuitanContextProvider>();
        var provider = services.BuildServiceProvider();
        _services.Add(provider);
        return provider;
    }

    [Fact]
    public void Vector_string_to_hash_and_sign()
    {
        var options = new JushuitanOptions { AppKey = FakePlatform.JstAppKey, AppSecret = FakePlatform.JstAppSecret, AccessToken = FakePlatform.JstAccessToken };
        var form = JushuitanClient.Form(options, "{\"so_ids\":[\"123456\"],\"page_index\":1,\"page_size\":30}", 1700000000);
        Assert.Equal("198de31d607169055d392e10699dd8fc", form.Single(p => p.Key == "sign").Value);
        Assert.Equal(
            "99c4cef262f34ca882975a7064de0b87access_tokenb7e3b1e24e174593af8ca5c397e53dadapp_keyb0b7d1db226d4216a3d58df9ffa2dde5biz{\"so_ids\":[\"123456\"],\"page_index\":1,\"page_size\":30}charsetutf-8timestamp1700000000version2",
            FakePlatform.JstAppSecret + string.Concat(form.Where(p => p.Key != "sign").OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + p.Value)));
        Assert.Equal("198de31d607169055d392e10699dd8fc", JushuitanClient.Sign(FakePlatform.JstAppSecret, form.Append(new("empty", "")))); // empty values are not signed
    }

    [Fact]
    public async Task Orders_come_with_items_and_parcels_from_signed_form_posts()
    {
        var source = Compose().GetRequiredService<IErpOrderSource>();
        var order = Assert.Single(await source.GetOrdersAsync(["2026112012345"], default));
        Assert.Equal(("2026112012345", "Sent", 199.5m), (order.OrderNumber, order.Status, order.Total));
        Assert.Equal(new DateTimeOffset(2026, 11, 20, 10, 15, 0, TimeSpan.FromHours(8)), order.PlacedAt);
        var item = Assert.Single(order.Items);
        Assert.Equal(("Wool scarf", "SKU-1", 2, 99.75m), (item.Name, item.Sku, item.Quantity, item.UnitPrice));
        var parcel = Assert.Single(order.Shipments);
        Assert.Equal(("SF1234567890", "SF Express", "Delivering"), (parcel.TrackingNumber, parcel.Carrier, parcel.Status));

        Assert.Equal(["/open/orders/single/query", "/open/logistic/query"], _fake.JstRequests.Select(r => r.Path));
        var form = _fake.JstRequests.First().Form;
        Assert.Equal(["access_token", "app_key", "biz", "charset", "sign", "timestamp", "version"], form.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(("utf-8", "2"), (form["charset"], form["version"]));
        Assert.Empty(await source.GetOrdersAsync(["404404404"], default));
    }

    private static MessageContext Inbound(string text) => new(
        new ChatMessage { TenantId = "default", ConversationId = 1, ChannelId = "wechat-miniprogram", Direction = MessageDirection.Inbound, Sender = new MessageSender(SenderKind.Customer, "contact-1"), Content = text },
        new Conversation { Id = 1, TenantId = "default", ContactId = 1, ChannelId = "wechat-miniprogram" });

    private static JsonArray Cards(MessageContext context) => JsonNode.Parse(context.Message.Metadata[MessageMetadataKeys.Cards])!.AsArray();

    [Fact]
    public async Task A_message_naming_orders_gets_a_card_for_each_and_the_next_ask_is_cached()
    {
        var services = Compose();
        var plugin = services.GetRequiredService<OrderCardPlugin>();
        var context = Inbound("订单 2026112012345 和 2026112099999 到哪了？还有 1234567");
        await plugin.OnMessageAsync(context, default);
        var cards = Cards(context);
        Assert.Equal(2, cards.Count);
        Assert.Equal(("order", "jushuitan", "2026112012345"), (cards[0]!["type"]!.ToString(), cards[0]!["source"]!.ToString(), cards[0]!["orderNumber"]!.ToString()));
        Assert.Equal("SF1234567890", cards[0]!["order"]!["shipments"]![0]!["trackingNumber"]!.ToString());
        Assert.Equal("WaitConfirm", cards[1]!["order"]!["status"]!.ToString());
        var calls = _fake.JstRequests.Count;

        var again = Inbound("2026112012345?");
        await plugin.OnMessageAsync(again, default);
        Assert.Equal("order", Cards(again)[0]!["type"]!.ToString());
        Assert.Equal(calls, _fake.JstRequests.Count); // from the cache

        var panel = await services.GetRequiredService<JushuitanContextProvider>().GetContextAsync(
            new CustomerContextQuery { TenantId = "default", Customer = new ChannelIdentity("wechat-miniprogram", "contact-1") }, default);
        Assert.True(panel.IsAvailable);
        Assert.Equal(["2026112012345", "2026112099999"], panel.Orders.Select(o => o.OrderNumber).Order());
    }

    [Fact]
    public async Task Messages_without_order_numbers_agents_messages_and_unknown_orders()
    {
        var plugin = Compose().GetRequiredService<OrderCardPlugin>();
        var none = Inbound("hello, any discounts?");
        await plugin.OnMessageAsync(none, default);
        Assert.False(none.Message.Metadata.ContainsKey(MessageMetadataKeys.Cards));

        var agent = new MessageContext(none.Message with { Direction = MessageDirection.Outbound, Sender = new MessageSender(SenderKind.Agent, "a"), Content = "2026112012345" }, none.Conversation);
        await plugin.OnMessageAsync(agent, default);
        Assert.False(agent.Message.Metadata.ContainsKey(MessageMetadataKeys.Cards));
        Assert.Empty(_fake.JstRequests);

        var unknown = Inbound("order 55555555 please");
        await plugin.OnMessageAsync(unknown, default);
        Assert.Equal("not_found", Cards(unknown)[0]!["type"]!.ToString());
    }

    [Fact]
    public async Task A_slow_or_failing_ERP_gives_an_unavailable_card_in_time()
    {
        var plugin = Compose(o => o.LookupTimeout = TimeSpan.FromMilliseconds(500)).GetRequiredService<OrderCardPlugin>();
        _fake.JstDelay = TimeSpan.FromSeconds(10);
        var slow = Inbound("where is 2026112012345");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await plugin.OnMessageAsync(slow, default);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"the message waited {watch.Elapsed}");
        var card = Cards(slow)[0]!;
        Assert.Equal(("unavailable", "The ERP did not answer in time."), (card["type"]!.ToString(), card["reason"]!.ToString()));

        _fake.JstDelay = TimeSpan.Zero;
        _fake.JstDown = true;
        plugin = Compose().GetRequiredService<OrderCardPlugin>(); // the usual budget: the answer is a quick 502
        var down = Inbound("where is 2026112099999");
        await plugin.OnMessageAsync(down, default);
        Assert.Equal(("unavailable", "The ERP could not be reached."), (Cards(down)[0]!["type"]!.ToString(), Cards(down)[0]!["reason"]!.ToString()));

        _fake.JstDown = false; // failures were not cached: the ERP is asked again
        var back = Inbound("where is 2026112099999");
        await plugin.OnMessageAsync(back, default);
        Assert.Equal("order", Cards(back)[0]!["type"]!.ToString());
    }

    [Fact]
    public async Task Prewarming_loads_recent_orders_so_the_first_message_needs_no_ERP_call()
    {
        var services = Compose(o => o.PrewarmRecentOrders = true);
        var prewarm = services.GetServices<IHostedService>().OfType<PrewarmService>().Single();
        await prewarm.StartAsync(default);
        Assert.Equal(2, await prewarm.Completion.WaitAsync(TimeSpan.FromSeconds(10)));
        var biz = JsonNode.Parse(_fake.JstRequests.First().Form["biz"])!;
        Assert.NotNull(biz["modified_begin"]);
        var calls = _fake.JstRequests.Count;

        var context = Inbound("2026112012345");
        await services.GetRequiredService<OrderCardPlugin>().OnMessageAsync(context, default);
        Assert.Equal("order", Cards(context)[0]!["type"]!.ToString());
        Assert.Equal(calls, _fake.JstRequests.Count);
        await prewarm.StopAsync(default);
    }

    [Fact]
    public async Task A_refused_lookup_says_why()
    {
        var services = Compose(o => o.AccessToken = "revoked-token");
        var context = Inbound("2026112012345");
        await services.GetRequiredService<OrderCardPlugin>().OnMessageAsync(context, default);
        Assert.Contains("sign error", Cards(context)[0]!["reason"]!.ToString(), StringComparison.Ordinal);

        var panel = await services.GetRequiredService<JushuitanContextProvider>().GetContextAsync(new CustomerContextQuery { TenantId = "default", OrderNumber = "2026112012345" }, default);
        Assert.False(panel.IsAvailable);
        Assert.Contains("refused", panel.UnavailableReason, StringComparison.Ordinal);
    }
}
