using Chat.Storage.Tests.Conformance;
using Chat.Storage.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.Storage.Tests.Sqlite;

public sealed class SqliteConformanceTests : StoreConformanceTests, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("chat-sqlite-").FullName;

    internal override Task<StoreHost> StartStoreAsync() =>
        StoreHost.StartAsync(chat => chat.AddSqliteStorage(Path.Combine(_directory, "chat.db")));

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}
