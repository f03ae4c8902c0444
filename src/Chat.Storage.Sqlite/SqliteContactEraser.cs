namespace Chat.Storage.Sqlite;

/// <summary>Erases a contact and everything stored about it in one write transaction (the single writer: no append runs beside it).</summary>
internal sealed class SqliteContactEraser(SqliteDatabase database) : IContactEraser
{
    private const string Conversations = "SELECT id FROM conversations WHERE tenant_id = $t AND contact_id = $k";

    public async ValueTask<ContactErasure> EraseContactAsync(string tenantId, long contactId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenantId);
        return await database.WriteAsync((connection, transaction) =>
        {
            int Delete(string sql)
            {
                using var command = SqliteMessageStore.Command(connection, transaction, sql, "$t", "$k");
                command.Parameters[0].Value = tenantId;
                command.Parameters[1].Value = contactId;
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
