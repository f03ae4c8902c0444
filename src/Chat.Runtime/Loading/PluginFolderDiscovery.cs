namespace Chat.Runtime.Loading;

/// <summary>Marks that <c>AddPlugins()</c> was called: plugin folders are discovered at start-up.</summary>
internal sealed class PluginFolderDiscovery
{
    public static readonly PluginFolderDiscovery Instance = new();

    private PluginFolderDiscovery()
    {
    }
}
