using Chat.Storage;
using Chat.Storage.Internal;
using Chat.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds embedded SQLite storage to the Chat framework.</summary>
public static class SqliteChatBuilderExtensions
{
    /// <summary>Stores everything in one SQLite file (WAL mode, one writer).</summary>
    /// <param name="builder">The Chat builder.</param>
    /// <param name="path">The database file, for example <c>chat.db</c>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    public static IChatBuilder AddSqliteStorage(this IChatBuilder builder, string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return builder.AddSqliteStorage(options => options.ConnectionString = $"Data Source={path}");
    }

    /// <summary>Stores everything in SQLite, configured in code.</summary>
    /// <param name="builder">The Chat builder.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException">A parameter is null.</exception>
    public static IChatBuilder AddSqliteStorage(this IChatBuilder builder, Action<SqliteStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var services = builder.Services;
        services.AddOptions<SqliteStorageOptions>().Configure(configure).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SqliteDatabase>();
        services.TryAddSingleton<SqliteMessageStore>();
        services.TryAddSingleton<IMessageStore>(static sp => sp.GetRequiredService<SqliteMessageStore>());
        services.TryAddSingleton<IConversationStore, SqliteConversationStore>();
        services.TryAddSingleton<IWorkerIdLeaseStore, SqliteWorkerIdLeaseStore>();
        services.TryAddSingleton<IOutboxStore, SqliteOutboxStore>();
        services.TryAddSingleton<IAuditLog, SqliteAuditLog>();
        services.TryAddSingleton<IContactEraser, SqliteContactEraser>();
        services.AddHealthChecks().Add(new HealthCheckRegistration(
            StorageHealthCheck.Name,
            static sp => new StorageHealthCheck(
                async ct =>
                {
                    await using var connection = await sp.GetRequiredService<SqliteDatabase>().OpenReadAsync(ct).ConfigureAwait(false);
                    await using var command = connection.CreateCommand();
                    command.CommandText = "SELECT 1";
                    await command.ExecuteScalarAsync(ct).ConfigureAwait(false);
                },
                "SQLite"),
            failureStatus: null,
            tags: ["chat"],
            timeout: TimeSpan.FromSeconds(5)));
        services.Insert(0, ServiceDescriptor.Singleton<IHostedService, SqliteStorageStartup>());
        return builder;
    }
}
