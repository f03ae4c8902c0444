using Chat.Storage.Internal;
using Npgsql;

namespace Chat.Storage.Postgres;

/// <summary>Erases a contact and everything stored about it in one transaction.</summary>
internal sealed class PostgresContactEraser(PostgresDataSources dataSources) : ContactEraserBase
{
    // Locks the contact's conversations first (in one order): an append to one of them either commits before the lock is
    // granted, and the next statement, which sees it, erases its messages; or waits and then finds the conversation gone
    // and is refused. A single statement would delete from a snapshot taken before such an append committed.
    private const string LockSql = "SELECT id FROM chat.conversations WHERE tenant_id = $1 AND contact_id = $2 ORDER BY id FOR UPDATE";

    private const string EraseSql = """
        WITH conv AS (
            SELECT id FROM chat.conversations WHERE tenant_id = $1 AND contact_id = $2
        ), msg AS (
            DELETE FROM chat.messages m USING conv WHERE m.tenant_id = $1 AND m.conversation_id = conv.id RETURNING m.id
        ), dlv AS (
            DELETE FROM chat.outbox o USING msg WHERE o.tenant_id = $1 AND o.message_id = msg.id RETURNING 1
        ), cnv AS (
            DELETE FROM chat.conversations c WHERE c.tenant_id = $1 AND c.contact_id = $2 RETURNING 1
        ), idn AS (
            DELETE FROM chat.channel_identities i WHERE i.tenant_id = $1 AND i.contact_id = $2 RETURNING 1
        ), cot AS (
            DELETE FROM chat.contacts k WHERE k.tenant_id = $1 AND k.id = $2 RETURNING 1
        )
        SELECT (SELECT count(*) FROM cot)::int, (SELECT count(*) FROM idn)::int, (SELECT count(*) FROM cnv)::int,
               (SELECT count(*) FROM msg)::int, (SELECT count(*) FROM dlv)::int
        """;

    // With the conversations locked, a contact that wrote since is kept: its conversations' updated_at moved.
    private const string StillInactiveSql = """
        SELECT EXISTS (SELECT 1 FROM chat.contacts WHERE tenant_id = $1 AND id = $2 AND created_at < $3)
           AND NOT EXISTS (SELECT 1 FROM chat.conversations WHERE tenant_id = $1 AND contact_id = $2 AND updated_at >= $3)
        """;

    // A probe of the conversations' unique (tenant_id, contact_id, channel_id) index per contact: updated_at changes with
    // every message and stays out of every index, so those updates stay HOT.
    private const string FindInactiveSql = """
        SELECT k.tenant_id, k.id FROM chat.contacts k
         WHERE (k.tenant_id, k.id) > ($3, $4) AND k.created_at < $1
           AND NOT EXISTS (SELECT 1 FROM chat.conversations c WHERE c.tenant_id = k.tenant_id AND c.contact_id = k.id AND c.updated_at >= $1)
         ORDER BY k.tenant_id, k.id
         LIMIT $2
        """;

    // A page of the messages stored before a time (through the BRIN index on created_at), then those rows by key, and
    // their outbox entries. Two nodes sweeping at once: the later one's delete waits for the earlier's and skips what it took.
    private const string EraseMessagesSql = """
        WITH doomed AS (
            SELECT tenant_id, conversation_id, seq FROM chat.messages WHERE created_at < $1 LIMIT $2
        ), msg AS (
            DELETE FROM chat.messages m USING doomed d
             WHERE m.tenant_id = d.tenant_id AND m.conversation_id = d.conversation_id AND m.seq = d.seq
            RETURNING m.tenant_id, m.id
        ), dlv AS (
            DELETE FROM chat.outbox o USING msg WHERE o.tenant_id = msg.tenant_id AND o.message_id = msg.id RETURNING 1
        )
        SELECT (SELECT count(*) FROM msg)::int, (SELECT count(*) FROM dlv)::int
        """;

    protected override async ValueTask<ContactErasure> EraseMessagesAsync(DateTimeOffset createdBefore, int limit, CancellationToken cancellationToken)
    {
        try
        {
            await using var command = dataSources.Primary.CreateCommand(EraseMessagesSql);
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = createdBefore.ToUniversalTime() });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return new ContactErasure(0, 0, 0, reader.GetInt32(0), reader.GetInt32(1));
        }
        catch (NpgsqlException ex) when (ex is not PostgresException)
        {
            throw new ChatStorageException($"PostgreSQL is unreachable; nothing was erased: {ex.Message}", ex);
        }
    }

    protected override async ValueTask<IReadOnlyList<ContactKey>> FindInactiveAsync(DateTimeOffset inactiveBefore, ContactKey after, int limit, CancellationToken cancellationToken)
    {
        try
        {
            await using var command = dataSources.Primary.CreateCommand(FindInactiveSql);
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = inactiveBefore.ToUniversalTime() });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = after.TenantId });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = after.ContactId });
            var contacts = new List<ContactKey>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                contacts.Add(new ContactKey(reader.GetString(0), reader.GetInt64(1)));
            }

            return contacts;
        }
        catch (NpgsqlException ex) when (ex is not PostgresException)
        {
            throw new ChatStorageException($"PostgreSQL is unreachable: {ex.Message}", ex);
        }
    }

    protected override async ValueTask<ContactErasure> EraseAsync(string tenantId, long contactId, DateTimeOffset? inactiveBefore, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await dataSources.Primary.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (var lockConversations = new NpgsqlCommand(LockSql, connection, transaction))
            {
                AddKey(lockConversations, tenantId, contactId);
                await lockConversations.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            if (inactiveBefore is { } before)
            {
                await using var check = new NpgsqlCommand(StillInactiveSql, connection, transaction);
                AddKey(check, tenantId, contactId);
                check.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = before.ToUniversalTime() });
                if (await check.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not true)
                {
                    return ContactErasure.None; // rolled back on dispose
                }
            }

            ContactErasure erased;
            await using (var erase = new NpgsqlCommand(EraseSql, connection, transaction))
            {
                AddKey(erase, tenantId, contactId);
                await using var reader = await erase.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                erased = new ContactErasure(reader.GetInt32(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetInt32(3), reader.GetInt32(4));
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return erased;
        }
        catch (NpgsqlException ex) when (ex is not PostgresException)
        {
            throw new ChatStorageException($"PostgreSQL is unreachable; nothing was erased: {ex.Message}", ex);
        }
    }

    private static void AddKey(NpgsqlCommand command, string tenantId, long contactId)
    {
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenantId });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = contactId });
    }
}
