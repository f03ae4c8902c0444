using Chat.Storage.Internal;

namespace Chat.Storage.Sqlite;

/// <summary>The audit log in the SQLite file, which its triggers keep append-only.</summary>
internal sealed class SqliteAuditLog(SqliteDatabase database, IIdGenerator ids) : IAuditLog
{
    public async ValueTask<AuditEntry> AppendAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        AuditEntry.Validate(entry);
        var id = ids.NextId();
        var at = await database.WriteAsync((connection, transaction) =>
        {
            var now = database.NowMilliseconds();
            using var command = SqliteMessageStore.Command(connection, transaction, """
                INSERT INTO audit_log (tenant_id, id, at, actor_id, action, conversation_id, contact_id, detail, remote_address)
                VALUES ($t, $i, $a, $u, $x, $c, $p, $d, $r)
                """, "$t", "$i", "$a", "$u", "$x", "$c", "$p", "$d", "$r");
            command.Parameters[0].Value = entry.TenantId;
            command.Parameters[1].Value = id;
            command.Parameters[2].Value = now;
            command.Parameters[3].Value = entry.ActorId;
            command.Parameters[4].Value = entry.Action;
            command.Parameters[5].Value = (object?)entry.ConversationId ?? DBNull.Value;
            command.Parameters[6].Value = (object?)entry.ContactId ?? DBNull.Value;
            command.Parameters[7].Value = (object?)entry.Detail ?? DBNull.Value;
            command.Parameters[8].Value = (object?)entry.RemoteAddress ?? DBNull.Value;
            command.ExecuteNonQuery();
            return now;
        }, cancellationToken).ConfigureAwait(false);
        return entry with { Id = id, At = DateTimeOffset.FromUnixTimeMilliseconds(at) };
    }

    public async ValueTask<IReadOnlyList<AuditEntry>> ReadAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        AuditQuery.Validate(query);
        await using var connection = await database.OpenReadAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT {StoredRows.AuditColumns} FROM audit_log
             WHERE tenant_id = $t AND id > $i AND ($u IS NULL OR actor_id = $u) AND ($c IS NULL OR conversation_id = $c)
             ORDER BY id
             LIMIT $l
            """;
        command.Parameters.AddWithValue("$t", query.TenantId);
        command.Parameters.AddWithValue("$i", query.AfterId);
        command.Parameters.AddWithValue("$u", (object?)query.ActorId ?? DBNull.Value);
        command.Parameters.AddWithValue("$c", (object?)query.ConversationId ?? DBNull.Value);
        command.Parameters.AddWithValue("$l", query.Limit);
        using var reader = command.ExecuteReader();
        var entries = new List<AuditEntry>();
        while (reader.Read())
        {
            entries.Add(StoredRows.ReadAuditEntry(reader, query.TenantId));
        }

        return entries;
    }
}
