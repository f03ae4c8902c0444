using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Chat.Storage.Tests.Conformance;
using Chat.Storage.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Chat.Storage.Tests.Postgres;

/// <summary>PostgreSQL stops in the middle of a burst of appends (its own throwaway cluster, so no other test is disturbed).</summary>
public sealed class PostgresFaultTests : IAsyncLifetime
{
    private readonly string _directory = PostgresServer.NewClusterDirectory();
    private string _clusterDirectory = null!;
    private string _connectionString = null!;

    public async Task InitializeAsync()
    {
        _clusterDirectory = Path.Combine(_directory, "primary");
        _connectionString = await PostgresServer.ScriptAsync("start", _clusterDirectory, PostgresServer.FreePort().ToString(CultureInfo.InvariantCulture));
    }

    public async Task DisposeAsync()
    {
        await PostgresServer.ScriptAsync("stop", _clusterDirectory);
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Acknowledged_appends_survive_a_stop_unacknowledged_ones_fail_promptly_and_the_store_recovers()
    {
        var port = new NpgsqlConnectionStringBuilder(_connectionString).Port.ToString(CultureInfo.InvariantCulture);
        var connectionString = new NpgsqlConnectionStringBuilder(_connectionString) { Timeout = 3, CommandTimeout = 10 }.ConnectionString;
        await using var store = await StoreHost.StartAsync(chat => chat.AddPostgresStorage(connectionString));
        var contact = await store.Conversations.ResolveContactAsync("shop-1", new ChannelIdentity("web", "v1"), null, CancellationToken.None);
        var conversation = await store.Conversations.GetOrCreateConversationAsync("shop-1", contact.Id, "web", CancellationToken.None);

        var acknowledged = new ConcurrentDictionary<string, (long Id, long Seq)>();
        var failed = new ConcurrentDictionary<string, Exception>();
        var slowestFailure = TimeSpan.Zero;
        using var stopWriters = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            for (var i = 0; !stopWriters.IsCancellationRequested; i++)
            {
                var clientId = $"w{w}-{i}";
                var started = Stopwatch.GetTimestamp();
                try
                {
                    var result = await store.Messages.AppendAsync(StoreConformanceTests.Message(conversation, clientId, clientId), CancellationToken.None);
                    acknowledged[clientId] = (result.Message.Id, result.Message.Seq);
                }
                catch (Exception ex)
                {
                    failed[clientId] = ex;
                    var took = Stopwatch.GetElapsedTime(started);
                    lock (failed)
                    {
                        slowestFailure = took > slowestFailure ? took : slowestFailure;
                    }

                    await Task.Delay(20);
                }
            }
        })).ToArray();

        // Let the burst run, stop the server hard in the middle of it, keep writing against the dead server.
        while (acknowledged.Count < 500)
        {
            await Task.Delay(10);
        }

        await PostgresServer.ScriptAsync("kill", _clusterDirectory);
        var health = store.Services.GetRequiredService<HealthCheckService>();
        var down = (await health.CheckHealthAsync()).Entries["chat-storage"];
        Assert.Equal(HealthStatus.Unhealthy, down.Status);
        Assert.StartsWith("PostgreSQL does not answer", down.Description, StringComparison.Ordinal);
        // A platform's push asks whether it is a retry: it fails promptly too, with the store's exception.
        var lookingUp = Stopwatch.StartNew();
        await Assert.ThrowsAsync<ChatStorageException>(() => store.Messages.FindByPlatformMessageIdAsync("shop-1", "web", "pm-down", CancellationToken.None).AsTask());
        Assert.True(lookingUp.Elapsed < TimeSpan.FromSeconds(10), $"a failed look-up took {lookingUp.Elapsed} to fail");
        await Task.Delay(1500);
        await PostgresServer.ScriptAsync("start", _clusterDirectory, port);

        // The store recovers without a restart: appends succeed again.
        var recovered = false;
        for (var i = 0; i < 100 && !recovered; i++)
        {
            var before = acknowledged.Count;
            await Task.Delay(100);
            recovered = acknowledged.Count > before + 50;
        }

        stopWriters.Cancel();
        await Task.WhenAll(writers);

        Assert.True(recovered, "appends did not succeed again after PostgreSQL restarted");
        Assert.Null(await store.Messages.FindByPlatformMessageIdAsync("shop-1", "web", "pm-down", CancellationToken.None));
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Entries["chat-storage"].Status);
        Assert.NotEmpty(failed);
        Assert.All(failed.Values, ex => Assert.IsType<ChatStorageException>(ex));
        Assert.True(slowestFailure < TimeSpan.FromSeconds(10), $"a failed append took {slowestFailure} to fail");

        // Every acknowledged message is stored, with the id and seq it was acknowledged with.
        var stored = await ReadAllAsync(store, conversation);
        var byClientId = stored.ToDictionary(m => m.ClientMessageId!);
        foreach (var (clientId, (id, seq)) in acknowledged)
        {
            Assert.Equal((id, seq), (byClientId[clientId].Id, byClientId[clientId].Seq));
        }

        // Unacknowledged ones may or may not have been committed before the crash; retrying them stores each once.
        foreach (var clientId in failed.Keys)
        {
            await store.Messages.AppendAsync(StoreConformanceTests.Message(conversation, clientId, clientId), CancellationToken.None);
        }

        var after = await ReadAllAsync(store, conversation);
        Assert.Equal(acknowledged.Count + failed.Count, after.Count);
        Assert.Equal(Enumerable.Range(1, after.Count).Select(i => (long)i), after.Select(m => m.Seq));
    }

    private static async Task<List<ChatMessage>> ReadAllAsync(StoreHost store, Conversation conversation)
    {
        var all = new List<ChatMessage>();
        IReadOnlyList<ChatMessage> page;
        do
        {
            page = await store.Messages.ReadAfterAsync(
                new MessageQuery { TenantId = "shop-1", ConversationId = conversation.Id, AfterSeq = all.Count == 0 ? 0 : all[^1].Seq, Limit = 1000 },
                CancellationToken.None);
            all.AddRange(page);
        }
        while (page.Count == 1000);

        return all;
    }
}
