using System.ComponentModel.DataAnnotations;

namespace Chat.Storage.Postgres;

/// <summary>PostgreSQL storage settings (<c>Chat:Storage:Postgres</c> in the sample host).</summary>
public class PostgresStorageOptions
{
    /// <summary>The default of <see cref="MaxBatchSize"/>: 512.</summary>
    public const int DefaultMaxBatchSize = 512;

    /// <summary>The default of <see cref="MaxConcurrentBatches"/>: 2.</summary>
    public const int DefaultMaxConcurrentBatches = 2;

    /// <summary>The default of <see cref="QueueCapacity"/>: 100,000.</summary>
    public const int DefaultQueueCapacity = 100_000;

    /// <summary>The primary's connection string. Writes, and reads that must see them, go here. Required.</summary>
    [Required(AllowEmptyStrings = false)]
    public string ConnectionString { get; set; } = string.Empty;

    /// <summary>
    /// An optional connection string for reads that may lag (<c>ReadConsistency.Relaxed</c>), usually Npgsql
    /// multi-host with <c>Target Session Attributes=prefer-standby</c>. Unset: every read goes to the primary.
    /// </summary>
    public string? ReadConnectionString { get; set; }

    /// <summary>Apply the schema migrations at start-up, under an advisory lock. Default true.</summary>
    public bool ApplyMigrations { get; set; } = true;

    /// <summary>The most messages one batch (one round trip, one transaction) carries. Default 512.</summary>
    [Range(1, 10_000)]
    public int MaxBatchSize { get; set; } = DefaultMaxBatchSize;

    /// <summary>How long a batch that is not full waits for more messages. Default zero: batches form from what
    /// queued up while earlier batches were in flight.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:01")]
    public TimeSpan BatchLinger { get; set; } = TimeSpan.Zero;

    /// <summary>How many batches may be in flight at once. Default 2 (measured best on 2 cores; more cores, more batches).</summary>
    [Range(1, 64)]
    public int MaxConcurrentBatches { get; set; } = DefaultMaxConcurrentBatches;

    /// <summary>How many appends may wait for a batch before callers are held back. Default 100,000.</summary>
    [Range(1, 10_000_000)]
    public int QueueCapacity { get; set; } = DefaultQueueCapacity;
}
