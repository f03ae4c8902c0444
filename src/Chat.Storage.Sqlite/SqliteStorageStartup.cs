using Microsoft.Extensions.Hosting;

namespace Chat.Storage.Sqlite;

/// <summary>Opens the database and applies the migrations while the host starts.</summary>
internal sealed class SqliteStorageStartup(SqliteDatabase database) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => database.InitializeAsync();

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
