using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Chat.Storage.Postgres;

/// <summary>Applies the migrations while the host starts (when <see cref="PostgresStorageOptions.ApplyMigrations"/> is set).</summary>
internal sealed class PostgresStorageStartup(PostgresMigrator migrator, IOptions<PostgresStorageOptions> options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) =>
        options.Value.ApplyMigrations ? migrator.ApplyAsync(cancellationToken) : Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
