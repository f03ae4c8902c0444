using System.Net;
using System.Text.Json;

namespace Chat.SampleHost.Tests;

/// <summary>The sample host as an evaluator meets it: a process, real Kestrel, plain HTTP.</summary>
public sealed class SampleHostTests
{
    [Fact]
    public async Task It_starts_healthy_with_its_own_plugins_folder_and_lists_the_plugins()
    {
        await using var host = await SampleHostProcess.StartAsync();

        using var health = await host.Client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("Healthy", await health.Content.ReadAsStringAsync());

        using var plugins = JsonDocument.Parse(await host.Client.GetStringAsync("/chat/plugins"));
        Assert.Equal(JsonValueKind.Array, plugins.RootElement.ValueKind);
        Assert.All(plugins.RootElement.EnumerateArray(), p => Assert.Equal("Active", p.GetProperty("status").GetString()));
        Assert.Equal(["douyin", "jushuitan", "webhook", "wechat-miniprogram"], plugins.RootElement.EnumerateArray().Select(p => p.GetProperty("id").GetString()).Order(StringComparer.Ordinal));
        Assert.Contains("Chat sample host listening on " + host.BaseAddress.ToString().TrimEnd('/'), host.Output, StringComparison.Ordinal);

        // Embedded storage by default: the SQLite file exists, migrated, and the node leased a worker number from it.
        Assert.True(File.Exists(Path.Combine(host.DataDirectory, "chat.db")));
        Assert.Contains("Leased id-generator worker number 0", host.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task It_loads_plugin_folders_from_configuration_and_reports_each_status()
    {
        var testPlugins = SampleHostProcess.Metadata("TestPluginsDir");
        var dir = Directory.CreateTempSubdirectory("chat-sample-plugins-");
        try
        {
            foreach (var plugin in new[] { "Chat.TestPlugins.Json12", "Chat.TestPlugins.FutureHost" })
            {
                var target = Directory.CreateDirectory(Path.Combine(dir.FullName, plugin));
                foreach (var file in Directory.GetFiles(Path.Combine(testPlugins, plugin)))
                {
                    File.Copy(file, Path.Combine(target.FullName, Path.GetFileName(file)));
                }
            }

            await using var host = await SampleHostProcess.StartAsync(new Dictionary<string, string>
            {
                ["Chat__PluginHost__Directory"] = dir.FullName,
            });

            var json = await host.Client.GetStringAsync("/chat/plugins");
            using var plugins = JsonDocument.Parse(json);
            var byId = plugins.RootElement.EnumerateArray().ToDictionary(p => p.GetProperty("id").GetString()!);
            Assert.Equal(2, byId.Count);
            Assert.Equal("Active", byId["Chat.TestPlugins.Json12"].GetProperty("status").GetString());
            Assert.Equal(JsonValueKind.Null, byId["Chat.TestPlugins.Json12"].GetProperty("reason").ValueKind);
            Assert.Equal("Incompatible", byId["Chat.TestPlugins.FutureHost"].GetProperty("status").GetString());
            Assert.Equal("built for host API [2.0,3.0); this host provides 1.0.0", byId["Chat.TestPlugins.FutureHost"].GetProperty("reason").GetString());
            Assert.Equal("1.0.0-preview.1", byId["Chat.TestPlugins.FutureHost"].GetProperty("version").GetString());

            // One log line per plugin, and a degraded (still serving) health report.
            Assert.Contains("Plugin Chat.TestPlugins.Json12 1.0.0-preview.1 is Active", host.Output, StringComparison.Ordinal);
            Assert.Contains("Plugin Chat.TestPlugins.FutureHost 1.0.0-preview.1 is Incompatible", host.Output, StringComparison.Ordinal);
            using var health = await host.Client.GetAsync("/health");
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            Assert.Equal("Degraded", await health.Content.ReadAsStringAsync());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task An_unknown_storage_provider_stops_the_sample_host_naming_the_setting()
    {
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => SampleHostProcess.StartAsync(new Dictionary<string, string>
        {
            ["Chat__Storage__Provider"] = "Oracle",
        }));

        Assert.Contains("Chat:Storage:Provider is 'Oracle'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_setting_stops_the_sample_host_with_a_message_naming_it()
    {
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => SampleHostProcess.StartAsync(new Dictionary<string, string>
        {
            ["Chat__Ids__WorkerId"] = "4096",
        }));

        Assert.Contains("WorkerId", ex.Message, StringComparison.Ordinal);
    }
}
