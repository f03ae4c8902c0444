namespace Chat.Runtime.Loading;

/// <summary>Where a plugin ended up at start-up.</summary>
public enum PluginStatus
{
    /// <summary>Loaded and taking part: its contract implementations are in use.</summary>
    Active = 0,

    /// <summary>Found, but switched off by its manifest (<c>"enabled": false</c>).</summary>
    Disabled = 1,

    /// <summary>Built for a host API range this host is not in; not loaded.</summary>
    Incompatible = 2,

    /// <summary>Broken: a bad manifest, a missing or unloadable assembly, or a failure while composing it.</summary>
    Faulted = 3,
}
