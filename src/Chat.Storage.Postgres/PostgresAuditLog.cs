using Chat.Storage.Internal;
using Npgsql;

namespace Chat.Storage.Postgres;

/// <summary>The audit log in <c>chat.audit_log</c>, which its triggers keep append-only.</summary>
internal sealed class PostgresAuditLog(PostgresDataSources dataSources, IIdGenerator ids) : IAuditLog
{
    public async ValueTask<AuditEntry> AppendAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        AuditEntry.Validate(entry);
        var id = ids.NextId();
        try
        {
            await using var command = dataSources.Primary.CreateCommand("""
                INSERT INTO chat.audit_log (tenant_id, id, actor_id, action, conversation_id, contact_id, detail, remote_address)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                RETURNING at
                """);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entry.TenantId });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = id });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entry.ActorId });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entry.Action });
            command.Parameters.Add(new NpgsqlParameter<long?> { TypedValue = entry.ConversationId });
            command.Parameters.Add(new NpgsqlParameter<long?> { TypedValue = entry.ContactId });
            command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = entry.Detail });
            command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = entry.RemoteAddress });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return entry with { Id = id, At = reader.GetFieldValue<DateTimeOffset>(0) };
        }
        catch (NpgsqlException ex)
        {
            // Unreachable, or refused (a role without INSERT on the table): either way nothing was recorded.
            throw new ChatStorageException($"PostgreSQL did not record the audit entry: {ex.Message}", ex);
        }
    }

    public async ValueTask<IReadOnlyList<AuditEntry>> ReadAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        AuditQuery.Validate(query);
        try
        {
            await using var command = dataSources.Primary.CreateCommand($"""
                SELECT {StoredRows.AuditColumns} FROM chat.audit_log
                 WHERE tenant_id = $1 AND id > $2 AND ($3::text IS NULL OR actor_id = $3) AND ($4::bigint IS NULL OR conversation_id = $4)
                 ORDER BY id
                 LIMIT $5
                """);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = query.TenantId });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = query.AfterId });
            command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = query.ActorId });
            command.Parameters.Add(new NpgsqlParameter<long?> { TypedValue = query.ConversationId });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = query.Limit });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var entries = new List<AuditEntry>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                entries.Add(StoredRows.ReadAuditEntry(reader, query.TenantId));
            }

            return entries;
        }
        catch (NpgsqlException ex) when (ex is not PostgresException)
        {
            throw new ChatStorageException($"PostgreSQL is unreachable: {ex.Message}", ex);
        }
    }
}
