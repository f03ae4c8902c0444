namespace Chat.Runtime.Loading;

/// <summary>A plugin compiled into the host, added with <c>AddPlugin&lt;T&gt;()</c>.</summary>
internal sealed record InHostPluginRegistration(string Id, Type Type);
