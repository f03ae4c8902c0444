using Chat.Storage.Tests.Conformance;
using Chat.Storage.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.Storage.Tests.Postgres;

public sealed class PostgresConformanceTests : StoreConformanceTests
{
    internal override async Task<StoreHost> StartStoreAsync()
    {
        var (primary, _) = await PostgresServer.CreateDatabaseAsync();
        return await StoreHost.StartAsync(chat => chat.AddPostgresStorage(primary));
    }
}
