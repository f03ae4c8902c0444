using Chat.Storage;
using Chat.Storage.Internal;
using Chat.Storage.Postgres;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds PostgreSQL storage to the Chat framework.</summary>
public static class PostgresChatBuilderExtensions
{
    /// <summary>Stores messages, contacts, conversations and worker leases in PostgreSQL.</summary>
    /// <param name="builder">The Chat builder.</param>
    /// <param name="connectionString">The primary's connection string.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="connectionString"/> is empty.</exception>
    public static IChatBuilder AddPostgresStorage(this IChatBuilder builder, string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.AddPostgresStorage(options => options.ConnectionString = connectionString);
    }

    /// <summary>Stores messages, contacts, conversations and worker leases in PostgreSQL, configured in code.</summary>
    /// <param name="builder">The Chat builder.</param>
    /// <param name="configure">Sets the options; <see cref="PostgresStorageOptions.ConnectionString"/> is required.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException">A parameter is null.</exception>
    public static IChatBuilder AddPostgresStorage(this IChatBuilder builder, Action<PostgresStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var services = builder.Services;
        services.AddOptions<PostgresStorageOptions>().Configure(configure).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<PostgresDataSources>();
        services.TryAddSingleton<PostgresMigrator>();
        services.TryAddSingleton<PostgresMessageStore>();
        services.TryAddSingleton<IMessageStore>(static sp => sp.GetRequiredService<PostgresMessageStore>());
        services.TryAddSingleton<IConversationStore, PostgresConversationStore>();
        services.TryAddSingleton<IWorkerIdLeaseStore, PostgresWorkerIdLeaseStore>();
        services.TryAddSingleton<IOutboxStore, PostgresOutboxStore>();
        services.TryAddSingleton<IAuditLog, PostgresAuditLog>();
        services.TryAddSingleton<IContactEraser, PostgresContactEraser>();

        services.AddHealthChecks().Add(new HealthCheckRegistration(
            StorageHealthCheck.Name,
            static sp => new StorageHealthCheck(
                async ct =>
                {
                    await using var command = sp.GetRequiredService<PostgresDataSources>().Primary.CreateCommand("SELECT 1");
                    await command.ExecuteScalarAsync(ct).ConfigureAwait(false);
                },
                "PostgreSQL"),
            failureStatus: null,
            tags: ["chat"],
            timeout: TimeSpan.FromSeconds(5)));

        // Migrations run before the runtime's own start-up work, so the schema exists before anything uses it.
        services.Insert(0, ServiceDescriptor.Singleton<IHostedService, PostgresStorageStartup>());
        return builder;
    }
}
