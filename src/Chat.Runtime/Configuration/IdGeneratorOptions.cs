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

    /// <summary>The default of <see cref="LeaseTimeToLive"/>: 60 seconds.</summary>
    public static readonly TimeSpan DefaultLeaseTimeToLive = TimeSpan.FromSeconds(60);

    /// <summary>
    /// When true (the default) and the storage offers worker leases, the node leases a free worker number from the
    /// database at start-up and renews it, and <see cref="WorkerId"/> is ignored. Nodes sharing a database then never
    /// share a worker number. When false, <see cref="WorkerId"/> is used as given.
    /// </summary>
    public bool LeaseWorkerId { get; set; } = true;

    /// <summary>How long a worker-number lease lasts unless renewed; it is renewed every third of this. Default 60 s.</summary>
    [Range(typeof(TimeSpan), "00:00:03", "01:00:00")]
    public TimeSpan LeaseTimeToLive { get; set; } = DefaultLeaseTimeToLive;

    /// <summary>
    /// How far the system clock may step back before id generation fails instead of waiting for it to catch up.
    /// Default 2 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan MaxClockStepBack { get; set; } = DefaultMaxClockStepBack;
}
