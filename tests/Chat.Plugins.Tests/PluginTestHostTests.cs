using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using Chat.Plugins.Tests.Infrastructure;
using Chat.Plugins.Webhook;
using Chat.Protocol;
using Chat.Testing;

namespace Chat.Plugins.Tests;

/// <summary>The plugin test kit (Chat.Testing) on this repository's own plugins, loaded from their folders.</summary>
public sealed class PluginTestHostTests
{
    private static readonly string PluginsDir = typeof(PluginTestHostTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "PluginsDir").Value!;

    [Fact]
    public async Task Feeds_a_webhook_reads_what_was_stored_replies_as_an_agent_and_records_the_platform_call()
    {
        await using var host = await PluginTestHost.StartAsync(o =>
        {
            o.PluginFolder = Path.Combine(PluginsDir, "webhook");
            o.Settings["Plugins:webhook:Secret"] = FakePlatform.GenericSecret;
            o.Settings["Plugins:webhook:OutboundUrl"] = "https://platform.example/inbox";
        });
        Assert.Equal(Runtime.Loading.PluginStatus.Active, Assert.Single(host.Plugins).Status);

        var body = Encoding.UTF8.GetBytes("{\"id\":\"k-1\",\"userId\":\"kit-user\",\"content\":\"hello kit\"}");
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var headers = new Dictionary<string, string>
        {
            [WebhookChannel.TimestampHeader] = timestamp,
            [WebhookChannel.SignatureHeader] = WebhookChannel.Sign(FakePlatform.GenericSecret, timestamp, body),
        };
        Assert.Equal(HttpStatusCode.OK, (await host.PostWebhookAsync("webhook", body, headers)).StatusCode);
        Assert.Equal("hello kit", Assert.Single(await host.GetMessagesAsync("webhook", "kit-user")).Content);

        var reply = await host.ReplyAsync("webhook", "kit-user", "hi from the kit");
        var call = Assert.Single(await host.Http.WaitForAsync(1));
        Assert.Equal("https://platform.example/inbox", call.Uri.ToString());
        Assert.Equal(reply.Id.ToString(CultureInfo.InvariantCulture), call.Headers[WebhookChannel.DeliveryHeader]);
        Assert.Equal(WebhookChannel.Sign(FakePlatform.GenericSecret, call.Headers[WebhookChannel.TimestampHeader], call.Body), call.Headers[WebhookChannel.SignatureHeader]);
    }

    [Fact]
    public async Task Runs_the_pipeline_with_the_platform_answering_as_the_test_says()
    {
        await using var host = await PluginTestHost.StartAsync(o =>
        {
            o.PluginFolder = Path.Combine(PluginsDir, "jushuitan");
            o.Settings["Plugins:jushuitan:AppKey"] = FakePlatform.JstAppKey;
            o.Settings["Plugins:jushuitan:AppSecret"] = FakePlatform.JstAppSecret;
            o.Settings["Plugins:jushuitan:AccessToken"] = FakePlatform.JstAccessToken;
        });
        host.Http.Responder = _ => new HttpResponseMessage(HttpStatusCode.BadGateway);
        var context = await host.RunPipelineAsync(new ChatMessage
        {
            TenantId = "default",
            ChannelId = "web",
            Direction = MessageDirection.Inbound,
            Sender = new MessageSender(SenderKind.Customer, "1"),
            Content = "where is 2026112012345",
        });
        var card = JsonNode.Parse(context.Message.Metadata[MessageMetadataKeys.Cards])![0]!;
        Assert.Equal(("unavailable", "2026112012345"), (card["type"]!.ToString(), card["orderNumber"]!.ToString()));
        Assert.StartsWith("https://openapi.jushuitan.com/open/orders/single/query", Assert.Single(host.Http.Requests).Uri.ToString(), StringComparison.Ordinal);
    }
}
