using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Chat.SampleHost.Tests;

/// <summary>
/// Packs every package of the repository into a local feed once (with a version of its own, so no package cache
/// holds an older build), instantiates the plugin template outside the solution, and packs the plugin it made.
/// </summary>
public sealed class PackagesFixture : IAsyncLifetime
{
    public string Root { get; } = Directory.CreateTempSubdirectory("chat-packaging-").FullName;

    public string Feed => Path.Combine(Root, "feed");

    public string Version { get; } = "1.0.0-e2e." + DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);

    public string PluginSolution => Path.Combine(Root, "Acme.Echo");

    public async Task InitializeAsync()
    {
        var repo = SampleHostProcess.Metadata("RepoRoot");
        await Cli.RunAsync(repo, "dotnet", "pack", "Chat.Packages.slnf", "-c", "Release", "--no-build", "-o", Feed, $"-p:PackageVersion={Version}");
        File.WriteAllText(Path.Combine(Root, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="chat-local" value="{Feed}" />
              </packageSources>
            </configuration>
            """);
        var hive = Path.Combine(Root, "template-hive");
        await Cli.RunAsync(Root, "dotnet", "new", "install", Path.Combine(Feed, $"Chat.Templates.{Version}.nupkg"), "--debug:custom-hive", hive);
        await Cli.RunAsync(Root, "dotnet", "new", "chatplugin", "-n", "Acme.Echo", "-o", PluginSolution, "--debug:custom-hive", hive);
        await Cli.RunAsync(PluginSolution, "dotnet", "pack", "Acme.Echo", "-c", "Release", "-o", Feed, $"-p:PackageVersion={Version}");
    }

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }

        return Task.CompletedTask;
    }
}

/// <summary>
/// The packages as integrators meet them: a fresh ASP.NET Core project outside the solution takes them with
/// `dotnet add package` from a local feed, builds, runs, and a client chats through it; a third party's plugin made
/// from the `dotnet new chatplugin` template passes its own tests, loads Active in the sample host and takes messages,
/// and its packed folder is restored into a host's plugins folder by a package reference.
/// </summary>
public sealed class PackagingTests(PackagesFixture packages) : IClassFixture<PackagesFixture>
{
    private const string PluginSecret = "acme-echo-secret-0123456789";

    [Fact]
    public void Every_src_project_is_a_package_with_its_metadata_docs_and_symbols()
    {
        foreach (var id in new[] { "Chat.Abstractions", "Chat.Runtime", "Chat.Hub", "Chat.Client", "Chat.Storage.Postgres", "Chat.Storage.Sqlite", "Chat.Testing", "Chat.Plugins.Sdk", "Chat.Templates" })
        {
            var path = Path.Combine(packages.Feed, $"{id}.{packages.Version}.nupkg");
            Assert.True(File.Exists(path), $"{id} was not packed");
            using var zip = System.IO.Compression.ZipFile.OpenRead(path);
            using var nuspec = new StreamReader(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
            var xml = nuspec.ReadToEnd();
            foreach (var element in new[] { "<description>", "<license type=\"expression\">MIT</license>", "<readme>README.md</readme>", "<tags>", "<repository " })
            {
                Assert.Contains(element, xml, StringComparison.Ordinal);
            }

            Assert.Contains(zip.Entries, e => e.FullName == "README.md");
            if (id is not ("Chat.Plugins.Sdk" or "Chat.Templates"))
            {
                Assert.Contains(zip.Entries, e => e.FullName == $"lib/net10.0/{id}.xml");
                Assert.True(File.Exists(Path.Combine(packages.Feed, $"{id}.{packages.Version}.snupkg")), $"{id} has no symbols package");
            }
        }
    }

    [Fact]
    public async Task The_template_plugin_passes_its_own_tests_and_loads_in_the_sample_host()
    {
        await Cli.RunAsync(packages.PluginSolution, "dotnet", "test", "Acme.Echo.Tests", "-c", "Release");

        // Dropped into the sample host's plugins folder, it loads Active and receives messages.
        var plugins = Directory.CreateDirectory(Path.Combine(packages.Root, "sample-plugins")).FullName;
        Cli.CopyDirectory(Path.Combine(packages.PluginSolution, "Acme.Echo", "bin", "Release", "net10.0"), Path.Combine(plugins, "acme.echo"));
        await using var host = await SampleHostProcess.StartAsync(new Dictionary<string, string>
        {
            ["Chat__PluginHost__Directory"] = plugins,
            ["Chat__Plugins__acme.echo__Secret"] = PluginSecret,
        });
        using var list = JsonDocument.Parse(await host.Client.GetStringAsync("/chat/plugins"));
        var plugin = Assert.Single(list.RootElement.EnumerateArray());
        Assert.Equal(("acme.echo", "Active"), (plugin.GetProperty("id").GetString(), plugin.GetProperty("status").GetString()));

        var response = await PostSignedAsync(host.Client, """{"id":"e-1","user":"acme-user","text":"hello from Acme"}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Client.PostAsJsonAsync("/demo/login", new { id = "alice", password = "alice" })).StatusCode);
        var conversations = await host.Client.GetStringAsync("/chat/api/conversations");
        Assert.Contains("\"channelId\":\"acme.echo\"", conversations, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_fresh_host_takes_the_packages_with_dotnet_add_package_and_a_client_chats_through_it()
    {
        var dir = Path.Combine(packages.Root, "FreshHost");
        await Cli.RunAsync(packages.Root, "dotnet", "new", "web", "-n", "FreshHost", "-o", dir);
        foreach (var package in new[] { "Chat.Hub", "Chat.Storage.Sqlite", "Acme.Echo" })
        {
            await Cli.RunAsync(dir, "dotnet", "add", "package", package, "--version", packages.Version);
        }

        File.WriteAllText(Path.Combine(dir, "Program.cs"), """
            var builder = WebApplication.CreateBuilder(args);
            builder.Services.AddChat(builder.Configuration.GetSection("Chat"))
                .AddPlugins()
                .AddSqliteStorage("chat.db")
                .AddHub(o => o.AllowAnonymousVisitors = true);
            var app = builder.Build();
            app.MapChat("/chat");
            app.Run();
            """);
        await Cli.RunAsync(dir, "dotnet", "build", "-c", "Release");
        var output = Path.Combine(dir, "bin", "Release", "net10.0");
        Assert.True(File.Exists(Path.Combine(output, "plugins", "acme.echo", "plugin.json")), "the plugin package was not restored into plugins/");

        await using var host = await Cli.StartHostAsync(output, "FreshHost.dll", new Dictionary<string, string> { ["Chat__Plugins__acme.echo__Secret"] = PluginSecret });
        var visitor = await (await host.Client.PostAsync("/chat/visitor-token", null)).Content.ReadFromJsonAsync<JsonElement>();
        await using var customer = new Chat.Client.CustomerChatClient(new Chat.Client.ChatClientOptions
        {
            HubUrl = new Uri(host.BaseAddress, "chat/customer"),
            AccessTokenProvider = () => Task.FromResult<string?>(visitor.GetProperty("token").GetString()),
        });
        await customer.StartAsync();
        var conversation = await customer.StartConversationAsync();
        var sent = await customer.SendTextAsync("hello through the packages");
        Assert.Equal(1, sent.Seq);
        var history = await customer.ResumeAsync(new Chat.Protocol.ResumeRequest { ConversationId = conversation.Id });
        Assert.Equal("hello through the packages", Assert.Single(history.Messages).Content);

        using var list = JsonDocument.Parse(await host.Client.GetStringAsync("/chat/plugins"));
        Assert.Equal("Active", Assert.Single(list.RootElement.EnumerateArray()).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await PostSignedAsync(host.Client, """{"id":"e-2","user":"u","text":"via the plugin package"}""")).StatusCode);
    }

    private static Task<HttpResponseMessage> PostSignedAsync(HttpClient client, string json)
    {
        var body = Encoding.UTF8.GetBytes(json);
        var request = new HttpRequestMessage(HttpMethod.Post, "/chat/channels/acme.echo/webhook") { Content = new ByteArrayContent(body) };
        request.Headers.Add("X-Signature", Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(PluginSecret), body)));
        return client.SendAsync(request);
    }
}

/// <summary>Runs the dotnet CLI (and other commands) for the packaging tests; a failure shows the command's output.</summary>
internal static class Cli
{
    public static async Task RunAsync(string directory, string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"`{file} {string.Join(' ', arguments)}` in {directory} exited with {process.ExitCode}:\n{await output}\n{await errors}");
        }
    }

    public static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
    }

    public static Task<SampleHostProcess> StartHostAsync(string directory, string assembly, IDictionary<string, string> environment) =>
        SampleHostProcess.StartAsync(environment, directory, assembly);
}
