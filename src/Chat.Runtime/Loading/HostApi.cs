using System.Reflection;
using Chat.Plugins;

namespace Chat.Runtime.Loading;

/// <summary>The plugin API version this host provides: the file version of the Chat.Abstractions it runs with.</summary>
internal static class HostApi
{
    public static Version Version { get; } = Read();

    private static Version Read()
    {
        var text = typeof(IChannelPlugin).Assembly.GetCustomAttribute<AssemblyFileVersionAttribute>()?.Version;
        return text is not null && System.Version.TryParse(text, out var version)
            ? new Version(version.Major, version.Minor, Math.Max(version.Build, 0))
            : new Version(1, 0, 0);
    }
}
