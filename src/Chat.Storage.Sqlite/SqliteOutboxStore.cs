using Chat.Plugins;
using Chat.Storage.Internal;

namespace Chat.Storage.Sqlite;

/// <summary>The outbox in the SQLite file; entries are written with their messages by <see cref="SqliteMessageStore"/>.</summary>
internal sealed class SqliteOutboxStore(SqliteDatabase database) : IOutboxStore
{
    public async ValueTask<IReadOnlyList<OutboxEntry>> ClaimDueAsync(int maxCount, TimeSpan lease, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxCount, 1000);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lease, TimeSpan.Zero);
        return await database.WriteAsync((connection, transaction) =>
        {
            var now = database.NowMilliseconds();
            using var claim = SqliteMessageStore.Command(connection, transaction, """
                UPDATE outbox SET next_attempt_at = $l, attempts = attempts + 1, updated_at = $n
                 WHERE (tenant_id, message_id) IN (SELECT tenant_id, message_id FROM outbox
                                                    WHERE status IN (0, 1) AND next_attempt_at <= $n
                                                    ORDER BY next_attempt_at LIMIT $m)
                RETURNING tenant_id, message_id, attempts
                """, "$l", "$n", "$m");
            claim.Parameters[0].Value = now + (long)lease.TotalMilliseconds;
            claim.Parameters[1].Value = now;
            claim.Parameters[2].Value = maxCount;
            var claimed = new List<(string Tenant, long MessageId, int Attempts)>();
            using (var reader = claim.ExecuteReader())
            {
                while (reader.Read())
                {
                    claimed.Add((reader.GetString(0), reader.GetInt64(1), reader.GetInt32(2)));
                }
            }

            using var read = SqliteMessageStore.Command(connection, transaction, $"""
                SELECT {StoredRows.ColumnsOf(StoredRows.MessageColumns, "m")}, ci.platform_user_id
                  FROM messages m
                  JOIN conversations c ON c.tenant_id = m.tenant_id AND c.id = m.conversation_id
                  LEFT JOIN channel_identities ci ON ci.tenant_id = c.tenant_id AND ci.contact_id = c.contact_id AND ci.channel_id = c.channel_id
                 WHERE m.tenant_id = $t AND m.id = $i
                 LIMIT 1
                """, "$t", "$i");
            using var fail = SqliteMessageStore.Command(connection, transaction,
                "UPDATE outbox SET status = 3, last_error = $e, updated_at = $n WHERE tenant_id = $t AND message_id = $i", "$e", "$n", "$t", "$i");
            var entries = new List<OutboxEntry>(claimed.Count);
            foreach (var (tenant, messageId, attempts) in claimed)
            {
                read.Parameters[0].Value = tenant;
                read.Parameters[1].Value = messageId;
                using var reader = read.ExecuteReader();
                if (reader.Read() && !reader.IsDBNull(15))
                {
                    var message = StoredRows.ReadMessage(reader, tenant);
                    entries.Add(new OutboxEntry(message, new ChannelIdentity(message.ChannelId, reader.GetString(15)), attempts));
                    continue;
                }

                reader.Close();
                fail.Parameters[0].Value = "The conversation's contact has no identity on the channel to deliver to.";
                fail.Parameters[1].Value = now;
                fail.Parameters[2].Value = tenant;
                fail.Parameters[3].Value = messageId;
                fail.ExecuteNonQuery();
            }

            return (IReadOnlyList<OutboxEntry>)entries;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask RecordAsync(OutboxEntry entry, DeliveryStatus status, string? reason, DateTimeOffset? nextAttemptAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await database.WriteAsync((connection, transaction) =>
        {
            var now = database.NowMilliseconds();
            using var command = SqliteMessageStore.Command(connection, transaction, """
                UPDATE outbox SET status = $s, last_error = $e, next_attempt_at = coalesce($a, next_attempt_at), updated_at = $n
                 WHERE tenant_id = $t AND message_id = $i
                """, "$s", "$e", "$a", "$n", "$t", "$i");
            command.Parameters[0].Value = StoredRows.OutboxStatus(status);
            command.Parameters[1].Value = (object?)reason ?? DBNull.Value;
            command.Parameters[2].Value = (object?)nextAttemptAt?.ToUnixTimeMilliseconds() ?? DBNull.Value;
            command.Parameters[3].Value = now;
            command.Parameters[4].Value = entry.Message.TenantId;
            command.Parameters[5].Value = entry.Message.Id;
            return command.ExecuteNonQuery();
        }, cancellationToken).ConfigureAwait(false);
    }
}
