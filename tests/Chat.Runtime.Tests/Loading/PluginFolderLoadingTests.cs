using System.Text.Json;
using Chat.Plugins;
using Chat.Runtime.Loading;
using Chat.Runtime.Pipeline;
using Chat.Runtime.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Testing;

namespace Chat.Runtime.Tests.Loading;

/// <summary>Loads the real, compiled test plugins from their folders into one real host.</summary>
public sealed class PluginFolderLoadingTests : IAsyncLifetime
{
    private readonly TempDirectory _plugins = TestPlugins.NewDirectory(
        TestPlugins.Json12, TestPlugins.Json13, TestPlugins.Throwing, TestPlugins.Hanging, TestPlugins.FutureHost, TestPlugins.Broken);

    private IHost _host = null!;

    public async Task InitializeAsync()
    {
        // The broken folder: its private dependency is gone, so its types cannot load.
        File.Delete(Path.Combine(_plugins.Path, TestPlugins.Broken, "Chat.TestAssets.Dependency.dll"));

        _host = await TestHost.StartAsync(
            new Dictionary<string, string?>
            {
                ["Chat:PluginHost:Directory"] = _plugins.Path,
                [$"Chat:PluginHost:TimeBudgets:{TestPlugins.Hanging}"] = "00:00:00.200",
                [$"Chat:Plugins:{TestPlugins.Json13}:Greeting"] = "hello from configuration",
            },
            chat => chat.AddPlugins());
    }

    public async Task DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        _plugins.Dispose();
    }

    private IPluginCatalog Catalog => _host.Services.GetRequiredService<IPluginCatalog>();

    [Fact]
    public void Every_plugin_ends_in_a_status_with_a_reason()
    {
        var byId = Catalog.Plugins.ToDictionary(p => p.Id);

        Assert.Equal(6, byId.Count);
        foreach (var id in new[] { TestPlugins.Json12, TestPlugins.Json13, TestPlugins.Throwing, TestPlugins.Hanging })
        {
            Assert.Equal(PluginStatus.Active, byId[id].Status);
            Assert.Null(byId[id].Reason);
            Assert.Equal("1.0.0-preview.1", byId[id].Version);
        }

        var future = byId[TestPlugins.FutureHost];
        Assert.Equal(PluginStatus.Incompatible, future.Status);
        Assert.Equal("built for host API [2.0,3.0); this host provides 1.0.0", future.Reason);

        var broken = byId[TestPlugins.Broken];
        Assert.Equal(PluginStatus.Faulted, broken.Status);
        Assert.Contains("Chat.TestAssets.Dependency", broken.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_plugin_gets_one_log_line_naming_its_status()
    {
        var records = _host.Services.GetFakeLogCollector().GetSnapshot()
            .Where(r => r.Category == typeof(PluginCatalog).FullName)
            .ToList();

        Assert.Equal(6, records.Count);
        Assert.Single(records, r => r.Message.Contains($"{TestPlugins.FutureHost} 1.0.0-preview.1 is Incompatible: built for host API [2.0,3.0)", StringComparison.Ordinal));
        Assert.Single(records, r => r.Message.Contains($"{TestPlugins.Broken} 1.0.0-preview.1 is Faulted", StringComparison.Ordinal));
        Assert.Equal(4, records.Count(r => r.Message.Contains(" is Active (", StringComparison.Ordinal)));
    }

    [Fact]
    public void The_pipeline_runs_active_plugins_by_descending_priority()
    {
        var pipeline = (MessagePipeline)_host.Services.GetRequiredService<IMessagePipeline>();

        var order = pipeline.Plugins.Cast<PluginGuard>().Select(g => (g.PluginId, g.Priority)).ToArray();

        Assert.Equal(
            [(TestPlugins.Json12, 100), (TestPlugins.Throwing, 90), (TestPlugins.Hanging, 80), (TestPlugins.Json13, 50)],
            order);
    }

    [Fact]
    public async Task Two_plugins_use_two_major_versions_of_one_library_and_messages_flow_past_the_faulty_ones()
    {
        var pipeline = _host.Services.GetRequiredService<IMessagePipeline>();
        var context = TestHost.NewMessage("where is my parcel?");

        await pipeline.ExecuteAsync(context, CancellationToken.None);

        Assert.Equal(["json12", "json13"], (List<string>)context.Properties["trace"]!);
        using var json12 = JsonDocument.Parse((string)context.Properties["json12"]!);
        using var json13 = JsonDocument.Parse((string)context.Properties["json13"]!);
        Assert.Equal("12.0.0.0", json12.RootElement.GetProperty("newtonsoft").GetString());
        Assert.Equal("13.0.0.0", json13.RootElement.GetProperty("newtonsoft").GetString());
        Assert.Equal("where is my parcel?", json12.RootElement.GetProperty("content").GetString());
        Assert.False(context.IsRejected);

        // The hanging plugin was cancelled at its 200 ms budget, though it ignores its token.
        var hanging = ((MessagePipeline)_host.Services.GetRequiredService<IMessagePipeline>()).Plugins.Cast<PluginGuard>().Single(g => g.PluginId == TestPlugins.Hanging);
        Assert.Equal(1, (int)hanging.Inner.GetType().GetProperty("Cancelled")!.GetValue(null)!);
    }

    [Fact]
    public async Task A_plugin_has_its_own_services_with_what_the_host_lends_it()
    {
        var context = TestHost.NewMessage();
        await _host.Services.GetRequiredService<IMessagePipeline>().ExecuteAsync(context, CancellationToken.None);

        using var json13 = JsonDocument.Parse((string)context.Properties["json13"]!);
        var root = json13.RootElement;
        Assert.Equal("hello from configuration", root.GetProperty("greeting").GetString());
        Assert.Equal(TimeProvider.System.GetType().FullName, root.GetProperty("timeProvider").GetString());
        Assert.Equal(_host.Services.GetRequiredService<IHttpClientFactory>().GetType().FullName, root.GetProperty("httpClientFactory").GetString());
        Assert.Equal(TestPlugins.Json13, root.GetProperty("pluginId").GetString());
        Assert.Equal(Path.Combine(_plugins.Path, TestPlugins.Json13), root.GetProperty("directory").GetString());

        // The plugin registered its own IIdGenerator; the host's is untouched.
        Assert.IsType<Chat.Runtime.Ids.SnowflakeIdGenerator>(_host.Services.GetRequiredService<IIdGenerator>());
    }

    [Fact]
    public async Task Other_contracts_are_bridged_into_the_host()
    {
        var handler = Assert.Single(Catalog.GetServices<IWebhookHandler>());
        Assert.Equal("json13", handler.ChannelId);

        var result = await handler.HandleAsync(
            new WebhookRequest { Method = "POST", Path = "/chat/channels/json13/webhook", Body = "hi"u8.ToArray() },
            CancellationToken.None);

        Assert.Equal(200, result.Response.StatusCode);
        Assert.Equal("hi", Assert.Single(result.Messages).Content);
        Assert.Empty(Catalog.GetServices<IChannelSender>());
    }

    [Fact]
    public async Task The_health_check_is_degraded_and_names_the_unusable_plugins()
    {
        var report = await _host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        var entry = report.Entries["chat-plugins"];
        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Equal("2 of 6 plugin(s) faulted or incompatible", entry.Description);
        Assert.StartsWith("Incompatible: ", (string)entry.Data[TestPlugins.FutureHost], StringComparison.Ordinal);
        Assert.Equal("Active", entry.Data[TestPlugins.Json12]);
    }
}
