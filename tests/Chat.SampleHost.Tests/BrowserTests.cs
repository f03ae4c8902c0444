using System.Net.Http.Json;
using System.Diagnostics;

namespace Chat.SampleHost.Tests;

/// <summary>
/// The evaluation pages in a real browser: headless Chromium (Debian's) driven by playwright-core runs browser/chat.mjs
/// against the sample host: a customer in the widget and an agent in the console chat both ways, the widget reloads
/// and shows the history once; the host's log holds no token and nothing they wrote. Screenshots are kept in
/// artifacts/test-screenshots.
/// </summary>
public sealed class BrowserTests
{
    [Fact]
    public async Task A_customer_in_the_widget_and_an_agent_in_the_console_chat_both_ways()
    {
        await using var host = await SampleHostProcess.StartAsync();
        var screenshots = Path.Combine(SampleHostProcess.Metadata("RepoRoot"), "artifacts", "test-screenshots");
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = SampleHostProcess.Metadata("BrowserTestDir"),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("chat.mjs");
        start.ArgumentList.Add(host.BaseAddress.ToString().TrimEnd('/'));
        start.ArgumentList.Add(screenshots);
        using var node = Process.Start(start)!;
        var output = node.StandardOutput.ReadToEndAsync();
        var errors = node.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await node.WaitForExitAsync(timeout.Token);
        var log = await output + await errors;
        Assert.True(node.ExitCode == 0, $"the browser test failed:\n{log}\n--- host ---\n{host.Output}");
        Assert.EndsWith("OK", log.TrimEnd(), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(screenshots, "widget-after-reload.png")));
        Assert.True(File.Exists(Path.Combine(screenshots, "console-resolved.png")));

        // Alice's console read the conversation's history: the audit log holds it, for bob (the demo's auditor) only.
        Assert.Equal(System.Net.HttpStatusCode.OK, (await host.Client.PostAsJsonAsync("/demo/login", new { id = "alice", password = "alice" })).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, (await host.Client.GetAsync("/chat/api/audit")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await host.Client.PostAsJsonAsync("/demo/login", new { id = "bob", password = "bob" })).StatusCode);
        using var audit = System.Text.Json.JsonDocument.Parse(await host.Client.GetStringAsync("/chat/api/audit"));
        Assert.Contains(audit.RootElement.EnumerateArray(), e => e.GetProperty("actorId").GetString() == "alice" && e.GetProperty("action").GetString() == "history.read");

        // The host's log, at its configured levels, holds neither the browsers' tokens (sent in the WebSocket's query
        // string) nor what the customer and the agent wrote (docs/security.md, Logs).
        Assert.Contains("Chat sample host listening on", host.Output, StringComparison.Ordinal);
        foreach (var secret in new[] { "access_token", "wool scarf", "five colours", "free shipping", "thank you" })
        {
            Assert.DoesNotContain(secret, host.Output, StringComparison.OrdinalIgnoreCase);
        }
    }
}
