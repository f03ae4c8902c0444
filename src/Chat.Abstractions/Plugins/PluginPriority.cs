namespace Chat.Plugins;

/// <summary>Conventional <see cref="IChannelPlugin.Priority"/> values; higher runs first.</summary>
public static class PluginPriority
{
    /// <summary>Moderation and personal-data masking: runs before anything else sees the message.</summary>
    public const int Moderation = 1000;

    /// <summary>Enrichment, such as order and parcel cards from an ERP.</summary>
    public const int Enrichment = 500;

    /// <summary>The default for plugins that have no particular place.</summary>
    public const int Default = 0;

    /// <summary>Channel delivery and observers that want the final message.</summary>
    public const int Delivery = -1000;
}
