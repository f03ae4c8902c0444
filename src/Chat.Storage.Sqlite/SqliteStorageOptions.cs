using System.ComponentModel.DataAnnotations;

namespace Chat.Storage.Sqlite;

/// <summary>Embedded SQLite storage settings.</summary>
public class SqliteStorageOptions
{
    /// <summary>The default of <see cref="ConnectionString"/>: <c>Data Source=chat.db</c>.</summary>
    public const string DefaultConnectionString = "Data Source=chat.db";

    /// <summary>A Microsoft.Data.Sqlite connection string. A relative file is taken from the current directory. Default <c>Data Source=chat.db</c>.</summary>
    [Required(AllowEmptyStrings = false)]
    public string ConnectionString { get; set; } = DefaultConnectionString;

    /// <summary>The most messages one write transaction carries. Default 512.</summary>
    [Range(1, 10_000)]
    public int MaxBatchSize { get; set; } = 512;

    /// <summary>How many appends may wait for the writer before callers are held back. Default 100,000.</summary>
    [Range(1, 10_000_000)]
    public int QueueCapacity { get; set; } = 100_000;
}
