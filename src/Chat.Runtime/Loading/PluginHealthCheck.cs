using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Chat.Runtime.Loading;

/// <summary>Healthy when every plugin is active or disabled; degraded, naming them, when some are faulted or incompatible.</summary>
internal sealed class PluginHealthCheck(PluginCatalog catalog) : IHealthCheck
{
    public const string Name = "chat-plugins";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var plugins = catalog.Plugins;
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        var unusable = 0;
        foreach (var plugin in plugins)
        {
            data[plugin.Id] = plugin.Reason is null ? plugin.Status.ToString() : $"{plugin.Status}: {plugin.Reason}";
            if (plugin.Status is PluginStatus.Faulted or PluginStatus.Incompatible)
            {
                unusable++;
            }
        }

        return Task.FromResult(unusable == 0
            ? HealthCheckResult.Healthy($"{plugins.Count} plugin(s), none faulted", data)
            : HealthCheckResult.Degraded($"{unusable} of {plugins.Count} plugin(s) faulted or incompatible", data: data));
    }
}
