using Microsoft.Extensions.Logging;

namespace Chat.Runtime.Diagnostics;

/// <summary>The runtime's log messages; event ids are stable.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Plugin {PluginId} {PluginVersion} is Active ({Source})")]
    public static partial void PluginActive(ILogger logger, string pluginId, string? pluginVersion, string source);

    [LoggerMessage(2, LogLevel.Information, "Plugin {PluginId} {PluginVersion} is Disabled: {Reason} ({Source})")]
    public static partial void PluginDisabled(ILogger logger, string pluginId, string? pluginVersion, string? reason, string source);

    [LoggerMessage(3, LogLevel.Warning, "Plugin {PluginId} {PluginVersion} is Incompatible: {Reason} ({Source})")]
    public static partial void PluginIncompatible(ILogger logger, string pluginId, string? pluginVersion, string? reason, string source);

    [LoggerMessage(4, LogLevel.Error, "Plugin {PluginId} {PluginVersion} is Faulted: {Reason} ({Source})")]
    public static partial void PluginFaulted(ILogger logger, string pluginId, string? pluginVersion, string? reason, string source);

    [LoggerMessage(5, LogLevel.Warning, "The plugin directory {Directory} does not exist; no folder plugins are loaded")]
    public static partial void PluginDirectoryMissing(ILogger logger, string directory);

    [LoggerMessage(10, LogLevel.Warning, "Plugin {PluginId} threw on message {MessageId} of conversation {ConversationId}; the message goes on without it")]
    public static partial void PluginThrew(ILogger logger, Exception exception, string pluginId, long messageId, long conversationId);

    [LoggerMessage(11, LogLevel.Warning, "Plugin {PluginId} overran its {TimeBudget} time budget on message {MessageId} of conversation {ConversationId}; the message goes on without it")]
    public static partial void PluginTimedOut(ILogger logger, string pluginId, TimeSpan timeBudget, long messageId, long conversationId);

    [LoggerMessage(12, LogLevel.Error, "Plugin {PluginId} failed {Failures} times in a row; its circuit is open and it is skipped for {BreakDuration}")]
    public static partial void CircuitOpened(ILogger logger, string pluginId, int failures, TimeSpan breakDuration);

    [LoggerMessage(13, LogLevel.Information, "Plugin {PluginId} succeeded again; its circuit is closed")]
    public static partial void CircuitClosed(ILogger logger, string pluginId);

    [LoggerMessage(14, LogLevel.Warning, "Plugin {PluginId} failed after its time budget had run out")]
    public static partial void PluginFailedLate(ILogger logger, Exception exception, string pluginId);

    [LoggerMessage(20, LogLevel.Information, "Leased id-generator worker number {WorkerId} until {ExpiresAt:O}")]
    public static partial void WorkerIdLeased(ILogger logger, int workerId, DateTimeOffset expiresAt);

    [LoggerMessage(21, LogLevel.Warning, "Could not renew the lease of worker number {WorkerId}; it holds until {Deadline:O}")]
    public static partial void WorkerIdRenewalFailed(ILogger logger, Exception exception, int workerId, DateTimeOffset deadline);

    [LoggerMessage(22, LogLevel.Critical, "The lease of id-generator worker number {WorkerId} is lost; stopping the host so that no two nodes issue ids with it")]
    public static partial void WorkerIdLost(ILogger logger, int workerId);

    [LoggerMessage(23, LogLevel.Error, "A background service of plugin {PluginId} failed to {Action}; the plugin's contracts stay active")]
    public static partial void PluginBackgroundFailed(ILogger logger, Exception exception, string pluginId, string action);
}
