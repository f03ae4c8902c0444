using Chat.Runtime.Loading;
using Chat.Runtime.Pipeline;
using Chat.Runtime.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Chat.Runtime.Tests.Loading;

/// <summary>Broken plugin folders of every kind: each is skipped with a reason, and the host carries on.</summary>
public sealed class PluginFolderFaultTests
{
    private static async Task<IReadOnlyList<PluginInfo>> LoadAsync(string directory, bool failFast = false)
    {
        using var host = await TestHost.StartAsync(
            new Dictionary<string, string?>
            {
                ["Chat:PluginHost:Directory"] = directory,
                ["Chat:PluginHost:FailFast"] = failFast ? "true" : "false",
            },
            chat => chat.AddPlugins());
        var plugins = host.Services.GetRequiredService<IPluginCatalog>().Plugins;
        await host.StopAsync();
        return plugins;
    }

    private static void RewriteManifest(string folder, string json) => File.WriteAllText(Path.Combine(folder, "plugin.json"), json);

    [Fact]
    public async Task A_plugin_disabled_in_its_manifest_is_not_loaded()
    {
        using var dir = new TempDirectory();
        var folder = TestPlugins.CopyPlugin(TestPlugins.Json12, dir.Path);
        RewriteManifest(folder, $$"""{ "id": "{{TestPlugins.Json12}}", "version": "1.0.0", "assembly": "{{TestPlugins.Json12}}.dll", "hostApi": "1.x", "enabled": false }""");

        var plugin = Assert.Single(await LoadAsync(dir.Path));

        Assert.Equal(PluginStatus.Disabled, plugin.Status);
        Assert.Equal("disabled in plugin.json", plugin.Reason);
    }

    [Theory]
    [InlineData("{ not json", "plugin.json is not valid JSON")]
    [InlineData("""{ "version": "1.0.0", "assembly": "x.dll", "hostApi": "1.x" }""", "plugin.json has no 'id'.")]
    [InlineData("""{ "id": "../evil", "assembly": "x.dll", "hostApi": "1.x" }""", "plugin.json 'id' \"../evil\" is not valid")]
    [InlineData("""{ "id": "p", "hostApi": "1.x" }""", "plugin.json has no 'assembly'.")]
    [InlineData("""{ "id": "p", "assembly": "../../etc/x.dll", "hostApi": "1.x" }""", "plugin.json 'assembly' must be a file name inside the plugin folder")]
    [InlineData("""{ "id": "p", "assembly": "missing.dll", "hostApi": "1.x" }""", "the assembly 'missing.dll' named in plugin.json is missing")]
    public async Task A_bad_manifest_faults_the_plugin_with_a_reason_naming_the_field(string manifest, string reason)
    {
        using var dir = new TempDirectory();
        var folder = TestPlugins.CopyPlugin(TestPlugins.Json12, dir.Path);
        RewriteManifest(folder, manifest);

        var plugin = Assert.Single(await LoadAsync(dir.Path));

        Assert.Equal(PluginStatus.Faulted, plugin.Status);
        Assert.StartsWith(reason, plugin.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "plugin.json names no 'hostApi' range")]
    [InlineData("\"one point oh\"", "plugin.json 'hostApi' \"one point oh\" is not a version range")]
    [InlineData("\"[1.1,2.0)\"", "built for host API [1.1,2.0); this host provides 1.0.0")]
    [InlineData("\"0.x\"", "built for host API 0.x; this host provides 1.0.0")]
    public async Task A_plugin_outside_the_host_api_is_incompatible(string? hostApi, string reason)
    {
        using var dir = new TempDirectory();
        var folder = TestPlugins.CopyPlugin(TestPlugins.Json12, dir.Path);
        var hostApiProperty = hostApi is null ? string.Empty : $", \"hostApi\": {hostApi}";
        RewriteManifest(folder, $$"""{ "id": "p", "assembly": "{{TestPlugins.Json12}}.dll"{{hostApiProperty}} }""");

        var plugin = Assert.Single(await LoadAsync(dir.Path));

        Assert.Equal(PluginStatus.Incompatible, plugin.Status);
        Assert.Equal(reason, plugin.Reason);
    }

    [Fact]
    public async Task A_folder_without_a_manifest_and_a_duplicate_id_are_faulted_and_the_rest_load()
    {
        using var dir = new TempDirectory();
        TestPlugins.CopyPlugin(TestPlugins.Json12, dir.Path, "a-first");
        TestPlugins.CopyPlugin(TestPlugins.Json12, dir.Path, "b-second");
        var bare = Directory.CreateDirectory(Path.Combine(dir.Path, "c-bare")).FullName;
        File.WriteAllText(Path.Combine(bare, "readme.txt"), "not a plugin");

        var plugins = await LoadAsync(dir.Path);

        Assert.Equal(3, plugins.Count);
        Assert.Equal(PluginStatus.Active, plugins[0].Status);
        Assert.Equal(PluginStatus.Faulted, plugins[1].Status);
        Assert.Equal($"another plugin already has the id '{TestPlugins.Json12}'", plugins[1].Reason);
        Assert.Equal(("c-bare", PluginStatus.Faulted, "the folder has no plugin.json"), (plugins[2].Id, plugins[2].Status, plugins[2].Reason));
    }

    [Fact]
    public async Task A_corrupt_assembly_faults_the_plugin()
    {
        using var dir = new TempDirectory();
        var folder = TestPlugins.CopyPlugin(TestPlugins.Json12, dir.Path);
        File.WriteAllBytes(Path.Combine(folder, TestPlugins.Json12 + ".dll"), "MZ this is not a PE file"u8.ToArray());

        var plugin = Assert.Single(await LoadAsync(dir.Path));

        Assert.Equal(PluginStatus.Faulted, plugin.Status);
        Assert.StartsWith("BadImageFormatException", plugin.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FailFast_stops_the_host_naming_the_broken_plugin()
    {
        using var dir = TestPlugins.NewDirectory(TestPlugins.Json12, TestPlugins.FutureHost);

        var ex = await Assert.ThrowsAsync<PluginLoadException>(() => LoadAsync(dir.Path, failFast: true));

        Assert.Contains($"{TestPlugins.FutureHost} is Incompatible: built for host API [2.0,3.0)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Chat:PluginHost:FailFast", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_plugin_directory_is_logged_and_the_host_starts_healthy()
    {
        using var host = await TestHost.StartAsync(
            new Dictionary<string, string?> { ["Chat:PluginHost:Directory"] = "/nonexistent/chat-plugins" },
            chat => chat.AddPlugins());

        Assert.Empty(host.Services.GetRequiredService<IPluginCatalog>().Plugins);
        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        Assert.Equal(HealthStatus.Healthy, report.Status);
        var context = TestHost.NewMessage();
        await host.Services.GetRequiredService<IMessagePipeline>().ExecuteAsync(context, CancellationToken.None);
        Assert.False(context.IsStopped);
        await host.StopAsync();
    }

    [Fact]
    public void The_contracts_assembly_keeps_version_1_0_0_0_for_all_of_1_x()
    {
        Assert.Equal(new Version(1, 0, 0, 0), typeof(Chat.Plugins.IChannelPlugin).Assembly.GetName().Version);
    }
}
