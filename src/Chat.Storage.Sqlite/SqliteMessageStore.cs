using Chat.Storage.Internal;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Chat.Storage.Sqlite;

/// <summary>Messages in SQLite: appends coalesced into one write transaction per batch on the single writer.</summary>
internal sealed class SqliteMessageStore : IMessageStore, IAsyncDisposable
{
    private readonly SqliteDatabase _database;
    private readonly IIdGenerator _ids;
    private readonly AppendBatcher _batcher;

    public SqliteMessageStore(SqliteDatabase database, IIdGenerator ids, IOptions<SqliteStorageOptions> options, System.Diagnostics.Metrics.IMeterFactory meterFactory)
    {
        _database = database;
        _ids = ids;
        _batcher = new AppendBatcher(ExecuteBatchAsync, options.Value.MaxBatchSize, TimeSpan.Zero, concurrency: 1, options.Value.QueueCapacity,
            new StorageMetrics(meterFactory, "sqlite"));
    }

    public ValueTask<AppendResult> AppendAsync(ChatMessage message, CancellationToken cancellationToken) =>
        _batcher.AppendAsync(message, _ids, cancellationToken);

    public async ValueTask<IReadOnlyList<ChatMessage>> ReadAfterAsync(MessageQuery query, CancellationToken cancellationToken)
    {
        StoredRows.Validate(query);

        await using var connection = await _database.OpenReadAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText =
            $"SELECT {StoredRows.MessageColumns} FROM messages WHERE tenant_id = $t AND conversation_id = $c AND seq > $s ORDER BY seq LIMIT $l";
        command.Parameters.AddWithValue("$t", query.TenantId);
        command.Parameters.AddWithValue("$c", query.ConversationId);
        command.Parameters.AddWithValue("$s", query.AfterSeq);
        command.Parameters.AddWithValue("$l", query.Limit);
        var messages = new List<ChatMessage>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            messages.Add(StoredRows.ReadMessage(reader, query.TenantId));
        }

        return messages;
    }

    public async ValueTask<ChatMessage?> FindByPlatformMessageIdAsync(string tenantId, string channelId, string platformMessageId, CancellationToken cancellationToken)
    {
        StoredRows.ValidatePlatformMessageKey(tenantId, channelId, platformMessageId);
        await using var connection = await _database.OpenReadAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText =
            $"SELECT {StoredRows.MessageColumns} FROM messages WHERE tenant_id = $t AND channel_id = $ch AND platform_message_id = $p";
        command.Parameters.AddWithValue("$t", tenantId);
        command.Parameters.AddWithValue("$ch", channelId);
        command.Parameters.AddWithValue("$p", platformMessageId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? StoredRows.ReadMessage(reader, tenantId) : null;
    }

    public async ValueTask<IReadOnlyList<ChatMessage>> ListUnattendedAsync(DateTimeOffset from, DateTimeOffset to, long afterId, int limit, CancellationToken cancellationToken)
    {
        StoredRows.ValidateUnattended(from, to, limit);
        await using var connection = await _database.OpenReadAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT {StoredRows.ColumnsOf(StoredRows.MessageColumns, "m")}, m.tenant_id
              FROM messages m
              JOIN conversations c ON c.tenant_id = m.tenant_id AND c.id = m.conversation_id
             WHERE m.created_at BETWEEN $f AND $to AND m.sender_kind = {(int)SenderKind.Customer} AND m.id > $a
               AND c.last_seq = m.seq AND c.updated_at = m.created_at AND c.status <> {(int)ConversationStatus.Open}
             ORDER BY m.id
             LIMIT $l
            """;
        command.Parameters.AddWithValue("$f", from.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$to", to.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$a", afterId);
        command.Parameters.AddWithValue("$l", limit);
        var messages = new List<ChatMessage>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var tenantColumn = StoredRows.MessageColumnCount;
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            messages.Add(StoredRows.ReadMessage(reader, reader.GetString(tenantColumn)));
        }

        return messages;
    }

    public ValueTask DisposeAsync() => _batcher.DisposeAsync();

    private async Task ExecuteBatchAsync(IReadOnlyList<PendingAppend> batch, CancellationToken cancellationToken)
    {
        var results = await _database.WriteAsync((connection, transaction) => Append(connection, transaction, batch), cancellationToken).ConfigureAwait(false);

        // Committed: only now are the appends acknowledged.
        for (var i = 0; i < batch.Count; i++)
        {
            var (result, error) = results[i];
            if (result is not null)
            {
                batch[i].Completion.TrySetResult(result);
            }
            else
            {
                batch[i].Completion.TrySetException(error!);
            }
        }
    }

    private (AppendResult? Result, Exception? Error)[] Append(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<PendingAppend> batch)
    {
        var now = _database.NowMilliseconds();
        var createdAt = DateTimeOffset.FromUnixTimeMilliseconds(now);
        var results = new (AppendResult?, Exception?)[batch.Count];
        var lastSeq = new Dictionary<(string Tenant, long Conversation), (long Seq, bool Changed, ConversationStatus Status, string? Assignee)>();

        using var byClientId = Command(connection, transaction,
            "SELECT id, seq, created_at FROM messages WHERE tenant_id = $t AND conversation_id = $c AND client_message_id = $k", "$t", "$c", "$k");
        using var byPlatformId = Command(connection, transaction,
            "SELECT id, seq, created_at FROM messages WHERE tenant_id = $t AND channel_id = $c AND platform_message_id = $k", "$t", "$c", "$k");
        using var conversationSeq = Command(connection, transaction,
            "SELECT last_seq, status, assignee_id FROM conversations WHERE tenant_id = $t AND id = $c", "$t", "$c");
        using var insert = Command(connection, transaction, """
            INSERT INTO messages (tenant_id, conversation_id, seq, id, channel_id, direction, sender_kind, sender_id, sender_name,
                                  kind, content, client_message_id, platform_message_id, metadata, created_at, platform_timestamp)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
            """, "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15", "$16");

        using var outbox = Command(connection, transaction, """
            INSERT INTO outbox (tenant_id, message_id, channel_id, status, attempts, next_attempt_at, created_at, updated_at)
            VALUES ($t, $m, $c, 0, 0, $n, $n, $n)
            """, "$t", "$m", "$c", "$n");

        for (var i = 0; i < batch.Count; i++)
        {
            var (m, id) = (batch[i].Message, batch[i].Id);
            var duplicate = m.ClientMessageId is { } clientId ? Find(byClientId, m.TenantId, m.ConversationId, clientId) : null;
            duplicate ??= m.PlatformMessageId is { } platformId ? Find(byPlatformId, m.TenantId, m.ChannelId, platformId) : null;
            if (duplicate is { } d)
            {
                results[i] = (new AppendResult(m with { Id = d.Id, Seq = d.Seq, CreatedAt = d.CreatedAt }, IsDuplicate: true), null);
                continue;
            }

            var key = (m.TenantId, m.ConversationId);
            if (!lastSeq.TryGetValue(key, out var current))
            {
                conversationSeq.Parameters[0].Value = m.TenantId;
                conversationSeq.Parameters[1].Value = m.ConversationId;
                using (var reader = conversationSeq.ExecuteReader())
                {
                    if (!reader.Read())
                    {
                        results[i] = (null, new ConversationNotFoundException(m.TenantId, m.ConversationId));
                        continue;
                    }

                    current = (reader.GetInt64(0), false, (ConversationStatus)reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetString(2));
                }
            }

            var next = current.Seq + 1;
            object?[] values =
            [
                m.TenantId, m.ConversationId, next, id, m.ChannelId, (int)m.Direction, (int)m.Sender.Kind, m.Sender.Id,
                m.Sender.DisplayName, (int)m.Kind, m.Content, m.ClientMessageId, m.PlatformMessageId,
                m.Metadata.Count == 0 ? null : MetadataJson.Serialize(m.Metadata), now, m.PlatformTimestamp?.ToUnixTimeMilliseconds(),
            ];
            for (var p = 0; p < values.Length; p++)
            {
                insert.Parameters[p].Value = values[p] ?? DBNull.Value;
            }

            insert.ExecuteNonQuery();
            if (m.Metadata.TryGetValue(Protocol.MessageMetadataKeys.Deliver, out var deliver) && deliver == "true")
            {
                // The delivery to the platform is recorded in the same transaction as the message.
                outbox.Parameters[0].Value = m.TenantId;
                outbox.Parameters[1].Value = id;
                outbox.Parameters[2].Value = m.ChannelId;
                outbox.Parameters[3].Value = now;
                outbox.ExecuteNonQuery();
            }

            lastSeq[key] = (next, true, current.Status, current.Assignee);
            results[i] = (new AppendResult(m with { Id = id, Seq = next, CreatedAt = createdAt }, IsDuplicate: false)
            {
                ConversationStatus = current.Status,
                ConversationAssigneeId = current.Assignee,
            }, null);
        }

        using var update = Command(connection, transaction,
            "UPDATE conversations SET last_seq = $s, updated_at = $u WHERE tenant_id = $t AND id = $c", "$s", "$u", "$t", "$c");
        foreach (var ((tenant, conversation), (seq, changed, _, _)) in lastSeq)
        {
            if (changed)
            {
                update.Parameters[0].Value = seq;
                update.Parameters[1].Value = now;
                update.Parameters[2].Value = tenant;
                update.Parameters[3].Value = conversation;
                update.ExecuteNonQuery();
            }
        }

        return results;
    }

    private static (long Id, long Seq, DateTimeOffset CreatedAt)? Find(SqliteCommand command, string tenant, object scope, string key)
    {
        command.Parameters[0].Value = tenant;
        command.Parameters[1].Value = scope;
        command.Parameters[2].Value = key;
        using var reader = command.ExecuteReader();
        return reader.Read() ? (reader.GetInt64(0), reader.GetInt64(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2))) : null;
    }

    internal static SqliteCommand Command(SqliteConnection connection, SqliteTransaction transaction, string sql, params string[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var name in parameters)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        command.Prepare();
        return command;
    }
}
