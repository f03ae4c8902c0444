namespace Company.ChatPlugin;

/// <summary>The channel's settings, bound from <c>Chat:Plugins:company.chatplugin</c>.</summary>
public sealed class ChannelOptions
{
    /// <summary>The channel id: pushes go to <c>/chat/channels/{ChannelId}/webhook</c>.</summary>
    public string ChannelId { get; set; } = "company.chatplugin";

    /// <summary>The secret the platform signs its pushes with, and we sign replies with.</summary>
    public string Secret { get; set; } = string.Empty;

    /// <summary>Where replies are posted.</summary>
    public Uri? ReplyUrl { get; set; }
}
