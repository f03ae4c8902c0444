using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Chat.Runtime;

/// <summary>The framework's settings, bound from the <c>Chat</c> configuration section.</summary>
/// <remarks>
/// Plugins' own settings live beside these, in <c>Chat:Plugins:&lt;plugin id&gt;</c>, and are bound by each plugin.
/// </remarks>
public class ChatOptions
{
    /// <summary>The name of the configuration section the host usually binds: <c>Chat</c>.</summary>
    public const string SectionName = "Chat";

    /// <summary>How plugins are found, loaded and guarded (<c>Chat:PluginHost</c>).</summary>
    [ValidateObjectMembers]
    public PluginHostOptions PluginHost { get; set; } = new();

    /// <summary>The id generator's settings (<c>Chat:Ids</c>).</summary>
    [ValidateObjectMembers]
    public IdGeneratorOptions Ids { get; set; } = new();
}
