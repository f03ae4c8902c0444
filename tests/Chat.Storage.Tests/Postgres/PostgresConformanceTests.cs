using Chat.Storage.Tests.Conformance;
using Chat.Storage.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.Storage.Tests.Postgres;

public sealed class PostgresConformanceTests : StoreConformanceTests
{
    private string _primary = "";

    internal override string AuditTable => "chat.audit_log";

    internal override string DbSystem => "postgresql";

    internal override async Task<StoreHost> StartStoreAsync()
    {
        (_primary, _) = await PostgresServer.CreateDatabaseAsync();
        return await StoreHost.StartAsync(chat => chat.AddPostgresStorage(_primary));
    }

    internal override Task AgeAsync(TimeSpan by)
    {
        var interval = $"interval '{(long)by.TotalSeconds} seconds'";
        return RunSqlAsync($"UPDATE chat.contacts SET created_at = created_at - {interval}; UPDATE chat.conversations SET created_at = created_at - {interval}, updated_at = updated_at - {interval}; UPDATE chat.messages SET created_at = created_at - {interval}");
    }

    internal override async Task RunSqlAsync(string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(_primary);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
