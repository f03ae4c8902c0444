using System.Threading.Channels;
using Chat.Storage.Internal;
using Npgsql;

namespace Chat.Storage.Postgres;

/// <summary>
/// Answers <see cref="IMessageStore.FindByPlatformMessageIdAsync"/> for many concurrent platform pushes with one
/// statement on the primary per batch. Every push asks before its pipeline whether it is a platform's retry of a stored
/// message; at a peak, one statement per push (a pooled connection, a round trip, a backend woken) held a node to half
/// the pushes it stores without asking.
/// </summary>
/// <remarks>
/// A look-up waits for no other: a batch is whatever is queued when a loop is free (at most
/// <see cref="MaxBatchSize"/>), with <see cref="Concurrency"/> batches in flight. A batch sees every message committed
/// before it started, as the single statement did.
/// </remarks>
internal sealed class PlatformMessageLookup : BatchLoops<PlatformMessageLookup.Request>
{
    internal const int MaxBatchSize = 512;
    internal const int Concurrency = 2;

    // One row per request found, with the request's position; a request found nowhere has no row.
    // A function (migration 6), whose statement is planned once per connection for any number of ids: sent as it is, a
    // batch of a few ids was planned afresh every time. It names each message column r_<column>; they are selected by
    // name, in the order ReadMessage reads them, then the request's position.
    private static readonly string Sql =
        $"SELECT {StoredRows.Prefixed(StoredRows.MessageColumns, "r_")}, r_idx " +
        "FROM chat.find_platform_messages($1, $2, $3)";

    private readonly NpgsqlDataSource _primary;

    /// <param name="primary">The primary's data source.</param>
    /// <param name="capacity">How many look-ups may wait before callers are held back (the append queue's capacity).</param>
    public PlatformMessageLookup(NpgsqlDataSource primary, int capacity)
        : base(Channel.CreateBounded<Request>(new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = false, SingleWriter = false }),
            MaxBatchSize, TimeSpan.Zero, Concurrency)
    {
        _primary = primary;
        Start();
    }

    public async Task<ChatMessage?> FindAsync(string tenantId, string channelId, string platformMessageId, CancellationToken cancellationToken)
    {
        var request = new Request(tenantId, channelId, platformMessageId);
        await EnqueueAsync(request, "The message store is shutting down; the platform message was not looked up.", cancellationToken).ConfigureAwait(false);

        // Cancelling stops the wait only; the batch goes on for the others.
        return await request.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(List<Request> batch)
    {
        try
        {
            var found = await FindBatchAsync(batch).ConfigureAwait(false);
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Completion.TrySetResult(found[i]);
            }
        }
        catch (Exception ex)
        {
            var error = new ChatStorageException($"Could not look up {batch.Count} platform message(s): {ex.Message}", ex);
            foreach (var request in batch)
            {
                request.Completion.TrySetException(error);
            }
        }
    }

    private async Task<ChatMessage?[]> FindBatchAsync(List<Request> batch)
    {
        var found = new ChatMessage?[batch.Count];
        var tenants = new string[batch.Count];
        var channels = new string[batch.Count];
        var ids = new string[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            (tenants[i], channels[i], ids[i]) = (batch[i].TenantId, batch[i].ChannelId, batch[i].PlatformMessageId);
        }

        await using var command = _primary.CreateCommand(Sql);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = tenants });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = channels });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = ids });
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        var idx = StoredRows.MessageColumnCount;
        while (await reader.ReadAsync().ConfigureAwait(false))
        {
            var i = (int)reader.GetInt64(idx) - 1;
            found[i] = StoredRows.ReadMessage(reader, tenants[i]);
        }

        return found;
    }

    internal sealed class Request(string tenantId, string channelId, string platformMessageId)
    {
        public string TenantId { get; } = tenantId;

        public string ChannelId { get; } = channelId;

        public string PlatformMessageId { get; } = platformMessageId;

        public TaskCompletionSource<ChatMessage?> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
