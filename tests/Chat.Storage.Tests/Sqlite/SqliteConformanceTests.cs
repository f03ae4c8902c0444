using Chat.Storage.Tests.Conformance;
using Chat.Storage.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.Storage.Tests.Sqlite;

public sealed class SqliteConformanceTests : StoreConformanceTests, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("chat-sqlite-").FullName;

    private string DatabasePath => Path.Combine(_directory, "chat.db");

    internal override string AuditTable => "audit_log";

    internal override string DbSystem => "sqlite";

    internal override Task<StoreHost> StartStoreAsync() =>
        StoreHost.StartAsync(chat => chat.AddSqliteStorage(DatabasePath));

    internal override Task AgeAsync(TimeSpan by)
    {
        var ms = (long)by.TotalMilliseconds;
        return RunSqlAsync($"UPDATE contacts SET created_at = created_at - {ms}; UPDATE conversations SET created_at = created_at - {ms}, updated_at = updated_at - {ms}; UPDATE messages SET created_at = created_at - {ms}");
    }

    internal override async Task RunSqlAsync(string sql)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={DatabasePath}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}
