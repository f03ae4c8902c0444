using Chat.Storage.Internal;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace Chat.Storage.Postgres;

/// <summary>
/// Messages in PostgreSQL. Appends are coalesced into batches; each batch is one call of <c>chat.append_batch_fast</c>
/// (one round trip, one transaction), or, when it holds a retry of a stored message, of <c>chat.append_batch</c>,
/// which looks retries up. A caller's task completes after the batch commits. Platform pushes' retry look-ups are
/// batched too (<see cref="PlatformMessageLookup"/>).
/// </summary>
internal sealed class PostgresMessageStore : IMessageStore, IAsyncDisposable
{
    private const string AppendFastSql = "SELECT r_idx, r_seq, r_created_at, r_status, r_assignee FROM chat.append_batch_fast($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)";
    private const string AppendSql = "SELECT r_idx, r_id, r_seq, r_created_at, r_outcome, r_status, r_assignee FROM chat.append_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";
    private const int MaxAttempts = 4;

    private readonly PostgresDataSources _dataSources;
    private readonly IIdGenerator _ids;
    private readonly AppendBatcher _batcher;
    private readonly PlatformMessageLookup _lookup;

    // The batch writers' own connections, one per batch in flight: they stay open, so the append functions' plans and
    // Npgsql's prepared statements stay warm (a pooled connection taken at random may be one that never ran them, and
    // planning the append costs tens of milliseconds), and reads cannot crowd the writers out of the pool.
    private readonly System.Collections.Concurrent.ConcurrentQueue<NpgsqlConnection> _writers = new();

    public PostgresMessageStore(PostgresDataSources dataSources, IIdGenerator ids, IOptions<PostgresStorageOptions> options, System.Diagnostics.Metrics.IMeterFactory meterFactory)
    {
        _dataSources = dataSources;
        _ids = ids;
        var o = options.Value;
        _batcher = new AppendBatcher(ExecuteBatchAsync, o.MaxBatchSize, o.BatchLinger, o.MaxConcurrentBatches, o.QueueCapacity,
            new StorageMetrics(meterFactory, "postgresql"));
        _lookup = new PlatformMessageLookup(dataSources.Primary, o.QueueCapacity);
    }

    public ValueTask<AppendResult> AppendAsync(ChatMessage message, CancellationToken cancellationToken) =>
        _batcher.AppendAsync(message, _ids, cancellationToken);

    public async ValueTask<IReadOnlyList<ChatMessage>> ReadAfterAsync(MessageQuery query, CancellationToken cancellationToken)
    {
        StoredRows.Validate(query);

        var messages = new List<ChatMessage>(Math.Min(query.Limit, 256));
        try
        {
            await using var command = _dataSources.For(query.Consistency).CreateCommand(
                $"SELECT {StoredRows.MessageColumns} FROM chat.messages WHERE tenant_id = $1 AND conversation_id = $2 AND seq > $3 ORDER BY seq LIMIT $4");
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = query.TenantId });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = query.ConversationId });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = query.AfterSeq });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = query.Limit });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                messages.Add(StoredRows.ReadMessage(reader, query.TenantId));
            }
        }
        catch (NpgsqlException ex) when (ex is not PostgresException)
        {
            throw new ChatStorageException($"Could not read conversation {query.ConversationId}: {ex.Message}", ex);
        }

        return messages;
    }

    public async ValueTask<IReadOnlyList<ChatMessage>> ListUnattendedAsync(DateTimeOffset from, DateTimeOffset to, long afterId, int limit, CancellationToken cancellationToken)
    {
        StoredRows.ValidateUnattended(from, to, limit);
        var messages = new List<ChatMessage>();
        try
        {
            // The window's messages come from the BRIN index on created_at, each conversation by its primary key.
            await using var command = _dataSources.Primary.CreateCommand($"""
                SELECT {StoredRows.ColumnsOf(StoredRows.MessageColumns, "m")}, m.tenant_id
                  FROM chat.messages m
                  JOIN chat.conversations c ON c.tenant_id = m.tenant_id AND c.id = m.conversation_id
                 WHERE m.created_at BETWEEN $1 AND $2 AND m.sender_kind = {(int)SenderKind.Customer} AND m.id > $3
                   AND c.last_seq = m.seq AND c.updated_at = m.created_at AND c.status <> {(int)ConversationStatus.Open}
                 ORDER BY m.id
                 LIMIT $4
                """);
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = from.ToUniversalTime() });
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = to.ToUniversalTime() });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = afterId });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var tenantColumn = StoredRows.MessageColumnCount;
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                messages.Add(StoredRows.ReadMessage(reader, reader.GetString(tenantColumn)));
            }
        }
        catch (NpgsqlException ex) when (ex is not PostgresException)
        {
            throw new ChatStorageException($"Could not look for unattended messages: {ex.Message}", ex);
        }

        return messages;
    }

    public async ValueTask<ChatMessage?> FindByPlatformMessageIdAsync(string tenantId, string channelId, string platformMessageId, CancellationToken cancellationToken)
    {
        StoredRows.ValidatePlatformMessageKey(tenantId, channelId, platformMessageId);
        return await _lookup.FindAsync(tenantId, channelId, platformMessageId, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _batcher.DisposeAsync().ConfigureAwait(false);
        await _lookup.DisposeAsync().ConfigureAwait(false);
        DropWriters();
    }

    private async Task ExecuteBatchAsync(IReadOnlyList<PendingAppend> batch, CancellationToken cancellationToken)
    {
        // Fast path: no look-ups; the unique indexes catch a retry. Then the batch runs again, looking retries up first.
        var dedupe = false;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await AppendOnceAsync(batch, dedupe, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DeadlockDetected
                                               or PostgresErrorCodes.SerializationFailure && attempt < MaxAttempts)
            {
                // A retry of a stored message, or another node stored one of these platform message ids a moment ago.
                dedupe = true;
            }
            catch (NpgsqlException ex) when (ex is not PostgresException)
            {
                // The connection broke (server stopped or restarted): drop pooled connections so the next batch reconnects.
                DropWriters();
                _dataSources.Primary.Clear();
                throw new ChatStorageException(
                    $"PostgreSQL is unreachable; {batch.Count} message(s) were not acknowledged and may be retried: {ex.Message}", ex);
            }
        }
    }

    private async Task AppendOnceAsync(IReadOnlyList<PendingAppend> batch, bool dedupe, CancellationToken cancellationToken)
    {
        if (!_writers.TryDequeue(out var connection) || connection.State != System.Data.ConnectionState.Open)
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }

            connection = await _dataSources.Primary.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await AppendOnceAsync(connection, batch, dedupe, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not PostgresException)
        {
            // Broken or in doubt: not kept (a PostgresException, such as a retry's unique violation, leaves it usable).
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            if (connection.State == System.Data.ConnectionState.Open)
            {
                _writers.Enqueue(connection);
            }
        }
    }

    private void DropWriters()
    {
        while (_writers.TryDequeue(out var connection))
        {
            connection.Dispose();
        }
    }

    private static async Task AppendOnceAsync(NpgsqlConnection connection, IReadOnlyList<PendingAppend> batch, bool dedupe, CancellationToken cancellationToken)
    {
        var n = batch.Count;
        var idx = new int[n];
        var tenant = new string[n];
        var conversation = new long[n];
        var id = new long[n];
        var channel = new string[n];
        var direction = new short[n];
        var senderKind = new short[n];
        var senderId = new string[n];
        var senderName = new string?[n];
        var kind = new short[n];
        var content = new string[n];
        var clientId = new string?[n];
        var platformId = new string?[n];
        var metadata = new string?[n];
        var platformTs = new DateTime?[n];
        for (var i = 0; i < n; i++)
        {
            var m = batch[i].Message;
            idx[i] = i;
            tenant[i] = m.TenantId;
            conversation[i] = m.ConversationId;
            id[i] = batch[i].Id;
            channel[i] = m.ChannelId;
            direction[i] = (short)m.Direction;
            senderKind[i] = (short)m.Sender.Kind;
            senderId[i] = m.Sender.Id;
            senderName[i] = m.Sender.DisplayName;
            kind[i] = (short)m.Kind;
            content[i] = m.Content;
            clientId[i] = m.ClientMessageId;
            platformId[i] = m.PlatformMessageId;
            metadata[i] = m.Metadata.Count == 0 ? null : MetadataJson.Serialize(m.Metadata);
            platformTs[i] = m.PlatformTimestamp?.UtcDateTime;
        }

        await using var command = new NpgsqlCommand(dedupe ? AppendSql : AppendFastSql, connection);
        if (dedupe)
        {
            command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = true });
        }

        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = idx });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = tenant });
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = conversation });
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = id });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = channel });
        command.Parameters.Add(new NpgsqlParameter<short[]> { TypedValue = direction });
        command.Parameters.Add(new NpgsqlParameter<short[]> { TypedValue = senderKind });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = senderId });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = senderName });
        command.Parameters.Add(new NpgsqlParameter<short[]> { TypedValue = kind });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = content });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = clientId });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = platformId });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = metadata });
        command.Parameters.Add(new NpgsqlParameter<DateTime?[]> { TypedValue = platformTs, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        if (!dedupe)
        {
            // Each message's position within its conversation in this batch, and the distinct conversations with counts.
            var ordinal = new int[n];
            var counts = new Dictionary<(string Tenant, long Conversation), int>(n); // sized once, as the batcher's
            for (var i = 0; i < n; i++)
            {
                var key = (tenant[i], conversation[i]);
                ordinal[i] = counts[key] = counts.GetValueOrDefault(key) + 1;
            }

            command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = ordinal });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = counts.Keys.Select(static k => k.Tenant).ToArray() });
            command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = counts.Keys.Select(static k => k.Conversation).ToArray() });
            command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = counts.Values.ToArray() });
        }

        // Outcome 2 (no such conversation) unless the result says otherwise.
        var results = new (long Id, long Seq, DateTimeOffset CreatedAt, short Outcome, short Status, string? Assignee)[n];
        Array.Fill(results, (0L, 0L, default(DateTimeOffset), (short)2, (short)-1, null));
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var i = reader.GetInt32(0);
                results[i] = dedupe
                    ? (reader.GetInt64(1), reader.GetInt64(2), reader.GetFieldValue<DateTimeOffset>(3), reader.GetInt16(4), reader.IsDBNull(5) ? (short)-1 : reader.GetInt16(5),
                        reader.IsDBNull(6) ? null : reader.GetString(6))
                    : (id[i], reader.GetInt64(1), reader.GetFieldValue<DateTimeOffset>(2), (short)0, reader.GetInt16(3), reader.IsDBNull(4) ? null : reader.GetString(4));
            }
        }

        // The reader is done: the implicit transaction has committed. Only now are the appends acknowledged.
        for (var i = 0; i < n; i++)
        {
            var pending = batch[i];
            var (storedId, seq, createdAt, outcome, status, assignee) = results[i];
            if (outcome == 2)
            {
                pending.Completion.TrySetException(new ConversationNotFoundException(pending.Message.TenantId, pending.Message.ConversationId));
                continue;
            }

            var stored = pending.Message with { Id = storedId, Seq = seq, CreatedAt = createdAt };
            pending.Completion.TrySetResult(new AppendResult(stored, IsDuplicate: outcome == 1)
            {
                ConversationStatus = status < 0 ? null : (ConversationStatus)status,
                ConversationAssigneeId = status < 0 ? null : assignee,
            });
        }
    }
}
