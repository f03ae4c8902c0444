using Chat.Runtime.Diagnostics;
using Chat.Runtime.Pipeline;
using Chat.Runtime.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using System.Diagnostics.Metrics;

namespace Chat.Runtime.Tests.Pipeline;

/// <summary>The guard around every plugin: exception isolation, time budget, circuit breaker, metrics.</summary>
public sealed class PluginGuardTests
{
    private static async Task<(IHost Host, IMessagePipeline Pipeline)> StartAsync(
        Dictionary<string, string?> settings,
        Action<IChatBuilder> configure)
    {
        var host = await TestHost.StartAsync(settings, configure);
        return (host, host.Services.GetRequiredService<IMessagePipeline>());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_throwing_plugin_is_skipped_logged_and_counted_and_the_message_goes_on(bool async)
    {
        var flaky = new FlakyPlugin { Async = async };
        var (host, pipeline) = await StartAsync([], chat =>
        {
            chat.Services.AddSingleton(flaky);
            chat.AddPlugin<FirstPlugin>("first").AddPlugin<FlakyPlugin>("flaky").AddPlugin<LastPlugin>("last");
        });
        using var _ = host;
        using var failures = new MetricCollector<long>(host.Services.GetRequiredService<IMeterFactory>(), ChatRuntimeDiagnostics.Name, "chat.plugin.failures");
        var context = TestHost.NewMessage();

        await pipeline.ExecuteAsync(context, CancellationToken.None);

        Assert.Equal(["first", "last"], (List<string>)context.Properties["trace"]!);
        var measurement = Assert.Single(failures.GetMeasurementSnapshot());
        Assert.Equal(1, measurement.Value);
        Assert.Equal("flaky", measurement.Tags["chat.plugin"]);
        Assert.Equal("exception", measurement.Tags["chat.failure"]);
        var log = Assert.Single(host.Services.GetFakeLogCollector().GetSnapshot(), r => r.Id.Id == 10);
        Assert.Equal("Plugin flaky threw on message 1001 of conversation 7; the message goes on without it", log.Message);
        Assert.IsType<InvalidOperationException>(log.Exception);
    }

    [Fact]
    public async Task A_slow_plugin_is_cancelled_at_its_budget_and_the_message_goes_on()
    {
        var slow = new SlowPlugin();
        var (host, pipeline) = await StartAsync(
            new() { ["Chat:PluginHost:TimeBudget"] = "00:00:05", ["Chat:PluginHost:TimeBudgets:slow"] = "00:00:00.150" },
            chat =>
            {
                chat.Services.AddSingleton(slow);
                chat.AddPlugin<SlowPlugin>("slow").AddPlugin<LastPlugin>("last");
            });
        using var _ = host;
        using var failures = new MetricCollector<long>(host.Services.GetRequiredService<IMeterFactory>(), ChatRuntimeDiagnostics.Name, "chat.plugin.failures");
        var context = TestHost.NewMessage();

        await pipeline.ExecuteAsync(context, CancellationToken.None);

        Assert.Equal(["last"], (List<string>)context.Properties["trace"]!);
        Assert.Equal("timeout", Assert.Single(failures.GetMeasurementSnapshot()).Tags["chat.failure"]);

        // The plugin's token was cancelled at the budget; its own continuation may run a moment later on the pool.
        for (var i = 0; i < 200 && !slow.SawCancellation; i++)
        {
            await Task.Delay(10);
        }

        Assert.True(slow.SawCancellation);
        Assert.Contains(host.Services.GetFakeLogCollector().GetSnapshot(), r => r.Message == "Plugin slow overran its 00:00:00.1500000 time budget on message 1001 of conversation 7; the message goes on without it");
    }

    [Fact]
    public async Task A_slow_plugin_within_its_budget_completes()
    {
        var slow = new SlowPlugin { Delay = TimeSpan.FromMilliseconds(20) };
        var (host, pipeline) = await StartAsync([], chat =>
        {
            chat.Services.AddSingleton(slow);
            chat.AddPlugin<SlowPlugin>("slow").AddPlugin<LastPlugin>("last");
        });
        using var _ = host;
        var context = TestHost.NewMessage();

        await pipeline.ExecuteAsync(context, CancellationToken.None);

        Assert.Equal(["slow", "last"], (List<string>)context.Properties["trace"]!);
    }

    [Fact]
    public async Task The_circuit_opens_after_repeated_failures_skips_the_plugin_then_probes_and_closes()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-11T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var flaky = new FlakyPlugin();
        var (host, pipeline) = await StartAsync(
            new() { ["Chat:PluginHost:BreakerFailureThreshold"] = "3", ["Chat:PluginHost:BreakDuration"] = "00:00:30" },
            chat =>
            {
                chat.Services.AddSingleton<TimeProvider>(time);
                chat.Services.AddSingleton(flaky);
                chat.AddPlugin<FlakyPlugin>("flaky").AddPlugin<LastPlugin>("last");
            });
        using var _ = host;
        using var skipped = new MetricCollector<long>(host.Services.GetRequiredService<IMeterFactory>(), ChatRuntimeDiagnostics.Name, "chat.plugin.skipped");
        var guard = ((MessagePipeline)pipeline).Plugins.OfType<PluginGuard>().Single(g => g.PluginId == "flaky");

        for (var i = 0; i < 5; i++)
        {
            var context = TestHost.NewMessage();
            await pipeline.ExecuteAsync(context, CancellationToken.None);
            Assert.Equal(["last"], (List<string>)context.Properties["trace"]!);
        }

        Assert.Equal(3, flaky.Calls);
        Assert.True(guard.IsCircuitOpen);
        Assert.Equal(2, skipped.GetMeasurementSnapshot().Count);
        Assert.Single(host.Services.GetFakeLogCollector().GetSnapshot(), r => r.Message == "Plugin flaky failed 3 times in a row; its circuit is open and it is skipped for 00:00:30");

        // Still open just before the break ends; one probe after it. The probe fails: open for another break.
        time.Advance(TimeSpan.FromSeconds(29));
        await pipeline.ExecuteAsync(TestHost.NewMessage(), CancellationToken.None);
        Assert.Equal(3, flaky.Calls);
        time.Advance(TimeSpan.FromSeconds(2));
        await pipeline.ExecuteAsync(TestHost.NewMessage(), CancellationToken.None);
        await pipeline.ExecuteAsync(TestHost.NewMessage(), CancellationToken.None);
        Assert.Equal(4, flaky.Calls);
        Assert.True(guard.IsCircuitOpen);

        // The plugin recovers: the next probe succeeds and closes the circuit.
        flaky.Failing = false;
        time.Advance(TimeSpan.FromSeconds(31));
        await pipeline.ExecuteAsync(TestHost.NewMessage(), CancellationToken.None);
        await pipeline.ExecuteAsync(TestHost.NewMessage(), CancellationToken.None);
        Assert.Equal(6, flaky.Calls);
        Assert.False(guard.IsCircuitOpen);
        Assert.Contains(host.Services.GetFakeLogCollector().GetSnapshot(), r => r.Message == "Plugin flaky succeeded again; its circuit is closed");
    }

    [Fact]
    public async Task Durations_are_recorded_per_plugin()
    {
        var (host, pipeline) = await StartAsync([], chat => chat.AddPlugin<FirstPlugin>("first").AddPlugin<LastPlugin>("last"));
        using var _ = host;
        using var durations = new MetricCollector<double>(host.Services.GetRequiredService<IMeterFactory>(), ChatRuntimeDiagnostics.Name, "chat.plugin.duration");
        using var messages = new MetricCollector<long>(host.Services.GetRequiredService<IMeterFactory>(), ChatRuntimeDiagnostics.Name, "chat.pipeline.messages");

        await pipeline.ExecuteAsync(TestHost.NewMessage(), CancellationToken.None);

        Assert.Equal(["first", "last"], durations.GetMeasurementSnapshot().Select(m => (string)m.Tags["chat.plugin"]!));
        Assert.All(durations.GetMeasurementSnapshot(), m => Assert.True(m.Value >= 0));
        Assert.Equal("passed", Assert.Single(messages.GetMeasurementSnapshot()).Tags["chat.outcome"]);
    }
}
