using System.Net;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Chat.Testing;

namespace Company.ChatPlugin.Tests;

public sealed class ChannelTests : IAsyncLifetime
{
    private const string Secret = "a-test-secret-0123456789";
    private PluginTestHost _host = null!;

    public async Task InitializeAsync() =>
        _host = await PluginTestHost.StartAsync(o =>
        {
            o.PluginFolder = typeof(ChannelTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "PluginFolder").Value;
            o.Settings["Plugins:company.chatplugin:Secret"] = Secret;
            o.Settings["Plugins:company.chatplugin:ReplyUrl"] = "https://platform.example/replies";
        });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static Dictionary<string, string> Signed(byte[] body) =>
        new() { ["X-Signature"] = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), body)) };

    [Fact]
    public void The_plugin_loads_active()
    {
        var plugin = Assert.Single(_host.Plugins);
        Assert.Equal("Active", plugin.Status.ToString());
    }

    [Fact]
    public async Task A_signed_push_is_stored_once_and_a_reply_goes_to_the_platform_signed()
    {
        var body = Encoding.UTF8.GetBytes("""{"id":"m-1","user":"u-1","text":"hello"}""");
        Assert.Equal(HttpStatusCode.OK, (await _host.PostWebhookAsync("company.chatplugin", body, Signed(body))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _host.PostWebhookAsync("company.chatplugin", body, Signed(body))).StatusCode); // a retry
        var stored = Assert.Single(await _host.GetMessagesAsync("company.chatplugin", "u-1"));
        Assert.Equal("hello", stored.Content);

        await _host.ReplyAsync("company.chatplugin", "u-1", "hi there");
        var call = Assert.Single(await _host.Http.WaitForAsync(1));
        Assert.Equal("https://platform.example/replies", call.Uri.ToString());
        Assert.Equal(Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), call.Body)), call.Headers["X-Signature"]);
        Assert.Contains("hi there", call.BodyText);
    }

    [Fact]
    public async Task Unsigned_and_malformed_pushes_are_refused_and_store_nothing()
    {
        var body = Encoding.UTF8.GetBytes("""{"id":"m-2","user":"u-2","text":"forged"}""");
        Assert.Equal(HttpStatusCode.Unauthorized, (await _host.PostWebhookAsync("company.chatplugin", body, new Dictionary<string, string> { ["X-Signature"] = "00" })).StatusCode);
        var malformed = Encoding.UTF8.GetBytes("{\"id\":");
        Assert.Equal(HttpStatusCode.BadRequest, (await _host.PostWebhookAsync("company.chatplugin", malformed, Signed(malformed))).StatusCode);
        Assert.Empty(await _host.GetMessagesAsync("company.chatplugin", "u-2"));
    }
}
