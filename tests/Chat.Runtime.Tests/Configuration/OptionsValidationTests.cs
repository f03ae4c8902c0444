using Chat.Runtime.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Chat.Runtime.Tests.Configuration;

public sealed class OptionsValidationTests
{
    [Theory]
    [InlineData("Chat:Ids:WorkerId", "1024", "WorkerId")]
    [InlineData("Chat:Ids:WorkerId", "-1", "WorkerId")]
    [InlineData("Chat:PluginHost:TimeBudget", "00:00:00", "TimeBudget")]
    [InlineData("Chat:PluginHost:BreakerFailureThreshold", "0", "BreakerFailureThreshold")]
    [InlineData("Chat:PluginHost:Directory", "", "Directory")]
    public async Task A_bad_setting_stops_the_host_at_start_up_naming_it(string key, string value, string member)
    {
        using var host = TestHost.Build(new Dictionary<string, string?> { [key] = value }, chat => chat.AddPlugins());

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(member, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Good_settings_are_bound()
    {
        using var host = await TestHost.StartAsync(new Dictionary<string, string?>
        {
            ["Chat:Ids:WorkerId"] = "512",
            ["Chat:PluginHost:TimeBudget"] = "00:00:01",
            ["Chat:PluginHost:TimeBudgets:erp"] = "00:00:03",
        });

        var options = host.Services.GetRequiredService<IOptions<ChatOptions>>().Value;

        Assert.Equal(512, options.Ids.WorkerId);
        Assert.Equal(TimeSpan.FromSeconds(3), options.PluginHost.GetTimeBudget("erp"));
        Assert.Equal(TimeSpan.FromSeconds(1), options.PluginHost.GetTimeBudget("other"));
        Assert.Equal(512, ((Chat.Runtime.Ids.SnowflakeIdGenerator)host.Services.GetRequiredService<IIdGenerator>()).WorkerId);
        await host.StopAsync();
    }
}
