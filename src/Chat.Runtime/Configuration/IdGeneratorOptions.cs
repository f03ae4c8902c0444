using System.ComponentModel.DataAnnotations;

namespace Chat.Runtime;

/// <summary>The id generator's settings.</summary>
public class IdGeneratorOptions
{
    /// <summary>The largest worker number: 1023 (10 bits).</summary>
    public const int MaxWorkerId = 1023;

    /// <summary>The default of <see cref="MaxClockStepBack"/>: 2 seconds.</summary>
    public static readonly TimeSpan DefaultMaxClockStepBack = TimeSpan.FromSeconds(2);

    /// <summary>
    /// This node's worker number, 0 to 1023; unique among the nodes that share a database. Default 0.
    /// </summary>
    [Range(0, MaxWorkerId)]
    public int WorkerId { get; set; }

    /// <summary>
    /// How far the system clock may step back before id generation fails instead of waiting for it to catch up.
    /// Default 2 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan MaxClockStepBack { get; set; } = DefaultMaxClockStepBack;
}
