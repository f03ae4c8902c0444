using Chat.Storage.Internal;
using Microsoft.Data.Sqlite;

namespace Chat.Storage.Sqlite;

/// <summary>Erases a contact and everything stored about it in one write transaction (the single writer: no append runs beside it).</summary>
internal sealed class SqliteContactEraser(SqliteDatabase database) : ContactEraserBase
{
    private const string Conversations = "SELECT id FROM conversations WHERE tenant_id = $t AND contact_id = $k";

    // Times are Unix milliseconds. A probe of the conversations' unique (tenant_id, contact_id, channel_id) index per contact.
    private const string FindInactiveSql = """
        SELECT k.tenant_id, k.id FROM contacts k
         WHERE (k.tenant_id, k.id) > ($at, $ak) AND k.created_at < $b
           AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.tenant_id = k.tenant_id AND c.contact_id = k.id AND c.updated_at >= $b)
         ORDER BY k.tenant_id, k.id
         LIMIT $l
        """;

    private const string StillInactiveSql = """
        SELECT EXISTS (SELECT 1 FROM contacts WHERE tenant_id = $t AND id = $k AND created_at < $b)
           AND NOT EXISTS (SELECT 1 FROM conversations WHERE tenant_id = $t AND contact_id = $k AND updated_at >= $b)
        """;

    // A page of the messages stored before a time, oldest first, through the index on created_at.
    private const string EraseMessagesSql = """
        DELETE FROM messages
         WHERE (tenant_id, conversation_id, seq) IN (SELECT tenant_id, conversation_id, seq FROM messages WHERE created_at < $b ORDER BY created_at LIMIT $l)
        RETURNING tenant_id, id
        """;

    protected override async ValueTask<ContactErasure> EraseMessagesAsync(DateTimeOffset createdBefore, int limit, CancellationToken cancellationToken)
    {
        return await database.WriteAsync((connection, transaction) =>
        {
            var erased = new List<(string Tenant, long Id)>();
            using (var page = SqliteMessageStore.Command(connection, transaction, EraseMessagesSql, "$b", "$l"))
            {
                page.Parameters[0].Value = createdBefore.ToUnixTimeMilliseconds();
                page.Parameters[1].Value = limit;
                using var reader = page.ExecuteReader();
                while (reader.Read())
                {
                    erased.Add((reader.GetString(0), reader.GetInt64(1)));
                }
            }

            var deliveries = 0;
            using var outbox = SqliteMessageStore.Command(connection, transaction, "DELETE FROM outbox WHERE tenant_id = $t AND message_id = $m", "$t", "$m");
            foreach (var (tenant, id) in erased)
            {
                outbox.Parameters[0].Value = tenant;
                outbox.Parameters[1].Value = id;
                deliveries += outbox.ExecuteNonQuery();
            }

            return new ContactErasure(0, 0, 0, erased.Count, deliveries);
        }, cancellationToken).ConfigureAwait(false);
    }

    protected override async ValueTask<IReadOnlyList<ContactKey>> FindInactiveAsync(DateTimeOffset inactiveBefore, ContactKey after, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenReadAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = FindInactiveSql;
        command.Parameters.AddWithValue("$b", inactiveBefore.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$l", limit);
        command.Parameters.AddWithValue("$at", after.TenantId);
        command.Parameters.AddWithValue("$ak", after.ContactId);
        var contacts = new List<ContactKey>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            contacts.Add(new ContactKey(reader.GetString(0), reader.GetInt64(1)));
        }

        return contacts;
    }

    protected override async ValueTask<ContactErasure> EraseAsync(string tenantId, long contactId, DateTimeOffset? inactiveBefore, CancellationToken cancellationToken)
    {
        return await database.WriteAsync((connection, transaction) =>
        {
            SqliteCommand Keyed(string sql)
            {
                var command = SqliteMessageStore.Command(connection, transaction, sql, "$t", "$k");
                command.Parameters[0].Value = tenantId;
                command.Parameters[1].Value = contactId;
                return command;
            }

            if (inactiveBefore is { } before)
            {
                using var check = Keyed(StillInactiveSql);
                check.Parameters.AddWithValue("$b", before.ToUnixTimeMilliseconds());
                if (Convert.ToInt64(check.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 0)
                {
                    return ContactErasure.None;
                }
            }

            int Delete(string sql)
            {
                using var command = Keyed(sql);
                return command.ExecuteNonQuery();
            }

            var deliveries = Delete($"DELETE FROM outbox WHERE tenant_id = $t AND message_id IN (SELECT id FROM messages WHERE tenant_id = $t AND conversation_id IN ({Conversations}))");
            var messages = Delete($"DELETE FROM messages WHERE tenant_id = $t AND conversation_id IN ({Conversations})");
            var conversations = Delete("DELETE FROM conversations WHERE tenant_id = $t AND contact_id = $k");
            var identities = Delete("DELETE FROM channel_identities WHERE tenant_id = $t AND contact_id = $k");
            var contacts = Delete("DELETE FROM contacts WHERE tenant_id = $t AND id = $k");
            return new ContactErasure(contacts, identities, conversations, messages, deliveries);
        }, cancellationToken).ConfigureAwait(false);
    }
}
