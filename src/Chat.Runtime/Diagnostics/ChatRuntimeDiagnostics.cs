using System.Diagnostics;

namespace Chat.Runtime.Diagnostics;

/// <summary>The names of the runtime's <see cref="System.Diagnostics.Metrics.Meter"/> and <see cref="ActivitySource"/>.</summary>
public static class ChatRuntimeDiagnostics
{
    /// <summary>The meter and activity source name: <c>Chat.Runtime</c>.</summary>
    public const string Name = "Chat.Runtime";

    internal static readonly ActivitySource ActivitySource = new(Name);
}
