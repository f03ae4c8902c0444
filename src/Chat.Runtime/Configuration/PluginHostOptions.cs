using System.ComponentModel.DataAnnotations;

namespace Chat.Runtime;

/// <summary>How plugins are found, loaded and guarded.</summary>
public class PluginHostOptions
{
    /// <summary>The default of <see cref="Directory"/>: <c>plugins</c>.</summary>
    public const string DefaultDirectory = "plugins";

    /// <summary>The default of <see cref="TimeBudget"/>: 2 seconds.</summary>
    public static readonly TimeSpan DefaultTimeBudget = TimeSpan.FromSeconds(2);

    /// <summary>The default of <see cref="BreakerFailureThreshold"/>: 5.</summary>
    public const int DefaultBreakerFailureThreshold = 5;

    /// <summary>The default of <see cref="BreakDuration"/>: 30 seconds.</summary>
    public static readonly TimeSpan DefaultBreakDuration = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The folder holding one sub-folder per plugin (<c>&lt;id&gt;/plugin.json</c>); a relative path is taken from
    /// the host's base directory. Default <c>plugins</c>.
    /// </summary>
    [Required(AllowEmptyStrings = false)]
    public string Directory { get; set; } = DefaultDirectory;

    /// <summary>
    /// When true, a plugin that is faulted or incompatible stops the host from starting; when false (the default)
    /// it is skipped and logged.
    /// </summary>
    public bool FailFast { get; set; }

    /// <summary>How long one plugin may take over one message before it is skipped for that message. Default 2 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")]
    public TimeSpan TimeBudget { get; set; } = DefaultTimeBudget;

    /// <summary>Per-plugin overrides of <see cref="TimeBudget"/>, by plugin id.</summary>
    public Dictionary<string, TimeSpan> TimeBudgets { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>After this many failures in a row (exceptions or overruns) a plugin's circuit opens. Default 5.</summary>
    [Range(1, 1000)]
    public int BreakerFailureThreshold { get; set; } = DefaultBreakerFailureThreshold;

    /// <summary>How long an open circuit skips the plugin before one message tries it again. Default 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan BreakDuration { get; set; } = DefaultBreakDuration;

    /// <summary>Returns the time budget of one plugin: its override, or <see cref="TimeBudget"/>.</summary>
    /// <param name="pluginId">The plugin id.</param>
    /// <returns>The budget.</returns>
    public TimeSpan GetTimeBudget(string pluginId) =>
        TimeBudgets.TryGetValue(pluginId, out var budget) && budget > TimeSpan.Zero ? budget : TimeBudget;
}
