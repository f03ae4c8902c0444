using Chat.Plugins;
using Chat.Storage.Internal;
using Npgsql;

namespace Chat.Storage.Postgres;

/// <summary>
/// The outbox in <c>chat.outbox</c>; entries are written with their messages by <c>chat.append_batch_fast</c>. Claims
/// use <c>FOR UPDATE SKIP LOCKED</c>, so the nodes of a cluster share the work without taking the same delivery.
/// </summary>
internal sealed class PostgresOutboxStore(PostgresDataSources dataSources) : IOutboxStore
{
    private const string NoRecipient = "The conversation's contact has no identity on the channel to deliver to.";

    private static readonly string ClaimSql = $"""
        WITH due AS (
            SELECT o.tenant_id, o.message_id FROM chat.outbox o
             WHERE o.status IN (0, 1) AND o.next_attempt_at <= now()
             ORDER BY o.next_attempt_at
             LIMIT $1
               FOR UPDATE SKIP LOCKED
        ), claimed AS (
            UPDATE chat.outbox o SET next_attempt_at = now() + $2, attempts = o.attempts + 1, updated_at = now()
              FROM due WHERE o.tenant_id = due.tenant_id AND o.message_id = due.message_id
            RETURNING o.tenant_id, o.message_id, o.attempts
        )
        SELECT {StoredRows.ColumnsOf(StoredRows.MessageColumns, "m")}, ci.platform_user_id, cl.tenant_id, cl.attempts
          FROM claimed cl
          JOIN chat.messages m ON m.tenant_id = cl.tenant_id AND m.id = cl.message_id
          JOIN chat.conversations c ON c.tenant_id = m.tenant_id AND c.id = m.conversation_id
          LEFT JOIN chat.channel_identities ci ON ci.tenant_id = c.tenant_id AND ci.contact_id = c.contact_id AND ci.channel_id = c.channel_id
        """;

    public async ValueTask<IReadOnlyList<OutboxEntry>> ClaimDueAsync(int maxCount, TimeSpan lease, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxCount, 1000);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lease, TimeSpan.Zero);
        var entries = new List<OutboxEntry>();
        var orphans = new List<OutboxEntry>();
        try
        {
            await using (var command = dataSources.Primary.CreateCommand(ClaimSql))
            {
                command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = maxCount });
                command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = lease });
                await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var message = StoredRows.ReadMessage(reader, reader.GetString(16));
                    var entry = new OutboxEntry(message, new ChannelIdentity(message.ChannelId, reader.IsDBNull(15) ? string.Empty : reader.GetString(15)), reader.GetInt32(17));
                    (reader.IsDBNull(15) ? orphans : entries).Add(entry);
                }
            }

            foreach (var orphan in orphans)
            {
                await RecordAsync(orphan, DeliveryStatus.Failed, NoRecipient, null, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (NpgsqlException ex) when (ex is not PostgresException)
        {
            throw new ChatStorageException($"PostgreSQL is unreachable; no delivery was claimed: {ex.Message}", ex);
        }

        return entries;
    }

    public async ValueTask RecordAsync(OutboxEntry entry, DeliveryStatus status, string? reason, DateTimeOffset? nextAttemptAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        try
        {
            await using var command = dataSources.Primary.CreateCommand("""
                UPDATE chat.outbox SET status = $1, last_error = $2, next_attempt_at = coalesce($3, next_attempt_at), updated_at = now()
                 WHERE tenant_id = $4 AND message_id = $5
                """);
            command.Parameters.Add(new NpgsqlParameter<short> { TypedValue = StoredRows.OutboxStatus(status) });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)reason ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)nextAttemptAt ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entry.Message.TenantId });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = entry.Message.Id });
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException ex) when (ex is not PostgresException)
        {
            throw new ChatStorageException($"PostgreSQL is unreachable; the delivery's outcome was not recorded: {ex.Message}", ex);
        }
    }
}
