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
    private readonly System.Collections.Concurrent.ConcurrentQueue<BatchWriter> _writers = new();

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
        if (!_writers.TryDequeue(out var writer) || writer.Connection.State != System.Data.ConnectionState.Open)
        {
            writer?.Dispose();

            writer = new BatchWriter(await _dataSources.Primary.OpenConnectionAsync(cancellationToken).ConfigureAwait(false));
        }

        try
        {
            await writer.AppendAsync(batch, dedupe, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not PostgresException)
        {
            // Broken or in doubt: not kept (a PostgresException, such as a retry's unique violation, leaves it usable).
            writer.Dispose();
            throw;
        }
        finally
        {
            if (writer.Connection.State == System.Data.ConnectionState.Open)
            {
                _writers.Enqueue(writer);
            }
        }
    }

    private void DropWriters()
    {
        while (_writers.TryDequeue(out var writer))
        {
            writer.Dispose();
        }
    }

    /// <summary>
    /// A batch writer's connection with its two append statements, made once for the connection. A batch refills the
    /// lists the statements' parameters hold (Npgsql sends a list as an array), so it allocates no command, parameters
    /// or arrays of its own; a busy node writes hundreds of batches a second. Used by one batch at a time.
    /// </summary>
    private sealed class BatchWriter : IDisposable
    {
        private readonly NpgsqlCommand _fast;
        private readonly NpgsqlCommand _careful;

        // The batch's columns, as the append functions take them.
        private readonly List<int> _index = [];
        private readonly List<string> _tenant = [];
        private readonly List<long> _conversation = [];
        private readonly List<long> _id = [];
        private readonly List<string> _channel = [];
        private readonly List<short> _direction = [];
        private readonly List<short> _senderKind = [];
        private readonly List<string> _senderId = [];
        private readonly List<string?> _senderName = [];
        private readonly List<short> _kind = [];
        private readonly List<string> _content = [];
        private readonly List<string?> _clientId = [];
        private readonly List<string?> _platformId = [];
        private readonly List<string?> _metadata = [];
        private readonly List<DateTime?> _platformTs = [];

        // The fast path's: each message's position within its conversation in the batch, and the distinct
        // conversations with their counts (so the statement needs no grouping of its own).
        private readonly List<int> _ordinal = [];
        private readonly Dictionary<(string Tenant, long Conversation), int> _counts = [];
        private readonly List<string> _countTenant = [];
        private readonly List<long> _countConversation = [];
        private readonly List<int> _count = [];

        private (long Id, long Seq, DateTimeOffset CreatedAt, short Outcome, short Status, string? Assignee)[] _results = [];

        public BatchWriter(NpgsqlConnection connection)
        {
            Connection = connection;
            _careful = new NpgsqlCommand(AppendSql, connection);
            _careful.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = true });
            AddColumns(_careful);
            _fast = new NpgsqlCommand(AppendFastSql, connection);
            AddColumns(_fast);
            _fast.Parameters.Add(new NpgsqlParameter<List<int>> { TypedValue = _ordinal });
            _fast.Parameters.Add(new NpgsqlParameter<List<string>> { TypedValue = _countTenant });
            _fast.Parameters.Add(new NpgsqlParameter<List<long>> { TypedValue = _countConversation });
            _fast.Parameters.Add(new NpgsqlParameter<List<int>> { TypedValue = _count });
        }

        public NpgsqlConnection Connection { get; }

        public async Task AppendAsync(IReadOnlyList<PendingAppend> batch, bool dedupe, CancellationToken cancellationToken)
        {
            var n = batch.Count;
            try
            {
                Fill(batch, dedupe);
                if (_results.Length < n)
                {
                    _results = new (long, long, DateTimeOffset, short, short, string?)[Math.Max(n, _results.Length * 2)];
                }

                // Outcome 2 (no such conversation) unless the result says otherwise.
                var results = _results;
                Array.Fill(results, (0L, 0L, default(DateTimeOffset), (short)2, (short)-1, null), 0, n);
                await using (var reader = await (dedupe ? _careful : _fast).ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        var i = reader.GetInt32(0);
                        results[i] = dedupe
                            ? (reader.GetInt64(1), reader.GetInt64(2), reader.GetFieldValue<DateTimeOffset>(3), reader.GetInt16(4), reader.IsDBNull(5) ? (short)-1 : reader.GetInt16(5),
                                reader.IsDBNull(6) ? null : reader.GetString(6))
                            : (_id[i], reader.GetInt64(1), reader.GetFieldValue<DateTimeOffset>(2), (short)0, reader.GetInt16(3), reader.IsDBNull(4) ? null : reader.GetString(4));
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
            finally
            {
                Clear(n); // the batch's strings are not kept alive by a writer between batches
            }
        }

        public void Dispose()
        {
            _fast.Dispose();
            _careful.Dispose();
            Connection.Dispose();
        }

        private void AddColumns(NpgsqlCommand command)
        {
            command.Parameters.Add(new NpgsqlParameter<List<int>> { TypedValue = _index });
            command.Parameters.Add(new NpgsqlParameter<List<string>> { TypedValue = _tenant });
            command.Parameters.Add(new NpgsqlParameter<List<long>> { TypedValue = _conversation });
            command.Parameters.Add(new NpgsqlParameter<List<long>> { TypedValue = _id });
            command.Parameters.Add(new NpgsqlParameter<List<string>> { TypedValue = _channel });
            command.Parameters.Add(new NpgsqlParameter<List<short>> { TypedValue = _direction });
            command.Parameters.Add(new NpgsqlParameter<List<short>> { TypedValue = _senderKind });
            command.Parameters.Add(new NpgsqlParameter<List<string>> { TypedValue = _senderId });
            command.Parameters.Add(new NpgsqlParameter<List<string?>> { TypedValue = _senderName });
            command.Parameters.Add(new NpgsqlParameter<List<short>> { TypedValue = _kind });
            command.Parameters.Add(new NpgsqlParameter<List<string>> { TypedValue = _content });
            command.Parameters.Add(new NpgsqlParameter<List<string?>> { TypedValue = _clientId });
            command.Parameters.Add(new NpgsqlParameter<List<string?>> { TypedValue = _platformId });
            command.Parameters.Add(new NpgsqlParameter<List<string?>> { TypedValue = _metadata });
            command.Parameters.Add(new NpgsqlParameter<List<DateTime?>> { TypedValue = _platformTs, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        }

        private void Fill(IReadOnlyList<PendingAppend> batch, bool dedupe)
        {
            for (var i = 0; i < batch.Count; i++)
            {
                var m = batch[i].Message;
                _index.Add(i);
                _tenant.Add(m.TenantId);
                _conversation.Add(m.ConversationId);
                _id.Add(batch[i].Id);
                _channel.Add(m.ChannelId);
                _direction.Add((short)m.Direction);
                _senderKind.Add((short)m.Sender.Kind);
                _senderId.Add(m.Sender.Id);
                _senderName.Add(m.Sender.DisplayName);
                _kind.Add((short)m.Kind);
                _content.Add(m.Content);
                _clientId.Add(m.ClientMessageId);
                _platformId.Add(m.PlatformMessageId);
                _metadata.Add(m.Metadata.Count == 0 ? null : MetadataJson.Serialize(m.Metadata));
                _platformTs.Add(m.PlatformTimestamp?.UtcDateTime);
                if (!dedupe)
                {
                    var key = (m.TenantId, m.ConversationId);
                    _ordinal.Add(_counts[key] = _counts.GetValueOrDefault(key) + 1);
                }
            }

            foreach (var ((tenant, conversation), count) in _counts)
            {
                _countTenant.Add(tenant);
                _countConversation.Add(conversation);
                _count.Add(count);
            }
        }

        private void Clear(int n)
        {
            _index.Clear();
            _tenant.Clear();
            _conversation.Clear();
            _id.Clear();
            _channel.Clear();
            _direction.Clear();
            _senderKind.Clear();
            _senderId.Clear();
            _senderName.Clear();
            _kind.Clear();
            _content.Clear();
            _clientId.Clear();
            _platformId.Clear();
            _metadata.Clear();
            _platformTs.Clear();
            _ordinal.Clear();
            _counts.Clear();
            _countTenant.Clear();
            _countConversation.Clear();
            _count.Clear();
            Array.Clear(_results, 0, Math.Min(n, _results.Length));
        }
    }
}
