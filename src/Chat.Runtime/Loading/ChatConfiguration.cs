using Microsoft.Extensions.Configuration;

namespace Chat.Runtime.Loading;

/// <summary>The <c>Chat</c> configuration section given to <c>AddChat</c>; plugin sections hang below it.</summary>
internal sealed class ChatConfiguration(IConfiguration section)
{
    public const string PluginsSectionName = "Plugins";

    public IConfiguration Section { get; } = section;

    public IConfiguration GetPluginSection(string pluginId) => Section.GetSection(PluginsSectionName).GetSection(pluginId);
}
