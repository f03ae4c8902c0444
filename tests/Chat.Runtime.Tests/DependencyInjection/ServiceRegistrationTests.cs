using Chat.Runtime.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Chat.Runtime.Tests.DependencyInjection;

public sealed class ServiceRegistrationTests
{
    [Fact]
    public async Task Calling_AddChat_twice_registers_nothing_twice()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddChat().AddPlugin<Pipeline.FirstPlugin>("first");
        builder.Services.AddChat(options => options.Ids.WorkerId = 9);
        using var host = builder.Build();
        await host.StartAsync();

        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        Assert.Equal(HealthStatus.Healthy, Assert.Single(report.Entries).Value.Status);
        Assert.Equal(9, ((Chat.Runtime.Ids.SnowflakeIdGenerator)host.Services.GetRequiredService<IIdGenerator>()).WorkerId);
        Assert.Single(host.Services.GetServices<IHostedService>(), s => s.GetType().Name == "ChatRuntimeStartup");
        await host.StopAsync();
    }

    [Fact]
    public async Task A_host_can_replace_a_framework_service_by_registering_it_first()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<IIdGenerator, CountingIdGenerator>();
        builder.Services.AddChat();
        using var host = builder.Build();
        await host.StartAsync();

        Assert.IsType<CountingIdGenerator>(host.Services.GetRequiredService<IIdGenerator>());
        await host.StopAsync();
    }

    private sealed class CountingIdGenerator : IIdGenerator
    {
        private long _next;

        public long NextId() => Interlocked.Increment(ref _next);
    }
}
