namespace Chat.Runtime.Loading;

/// <summary>What the runtime knows of one plugin: its identity, its status and why.</summary>
public sealed record PluginInfo
{
    /// <summary>The plugin id (from plugin.json, or given to <c>AddPlugin</c>; the folder name when the manifest is unreadable).</summary>
    public required string Id { get; init; }

    /// <summary>The plugin's version from plugin.json, if known.</summary>
    public string? Version { get; init; }

    /// <summary>The status.</summary>
    public PluginStatus Status { get; init; }

    /// <summary>Why the plugin is not active, or null when it is.</summary>
    public string? Reason { get; init; }

    /// <summary>The host API range from plugin.json, if any.</summary>
    public string? HostApi { get; init; }

    /// <summary>The plugin's folder, or null for a plugin compiled into the host.</summary>
    public string? Directory { get; init; }
}
