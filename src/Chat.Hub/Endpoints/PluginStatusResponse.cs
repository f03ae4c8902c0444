using Chat.Runtime.Loading;

namespace Chat.Hub.Endpoints;

/// <summary>One plugin as <c>GET {prefix}/plugins</c> shows it.</summary>
internal sealed record PluginStatusResponse(string Id, string? Version, string Status, string? Reason)
{
    public static PluginStatusResponse[] From(IReadOnlyList<PluginInfo> plugins) =>
        plugins.Select(static p => new PluginStatusResponse(p.Id, p.Version, p.Status.ToString(), p.Reason)).ToArray();
}
