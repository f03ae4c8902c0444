using Chat.Storage.Internal;
using Microsoft.Data.Sqlite;

namespace Chat.Storage.Sqlite;

/// <summary>Contacts, channel identities and conversations in SQLite.</summary>
internal sealed class SqliteConversationStore(SqliteDatabase database, IIdGenerator ids) : IConversationStore
{
    private const string FindContactSql = """
        SELECT c.id, c.display_name, c.created_at FROM channel_identities i
          JOIN contacts c ON c.tenant_id = i.tenant_id AND c.id = i.contact_id
         WHERE i.tenant_id = $t AND i.channel_id = $c AND i.platform_user_id = $u
        """;

    public async ValueTask<Contact> ResolveContactAsync(string tenantId, ChannelIdentity identity, string? displayName, CancellationToken cancellationToken)
    {
        StoredRows.ValidateIdentity(tenantId, identity);
        return await database.WriteAsync((connection, transaction) =>
        {
            using var find = SqliteMessageStore.Command(connection, transaction, FindContactSql, "$t", "$c", "$u");
            find.Parameters[0].Value = tenantId;
            find.Parameters[1].Value = identity.ChannelId;
            find.Parameters[2].Value = identity.PlatformUserId;
            using (var reader = find.ExecuteReader())
            {
                if (reader.Read())
                {
                    return ReadContact(reader, tenantId);
                }
            }

            var now = database.NowMilliseconds();
            var contactId = ids.NextId();
            using var insert = SqliteMessageStore.Command(connection, transaction, """
                INSERT INTO tenants (tenant_id, created_at) VALUES ($t, $n) ON CONFLICT DO NOTHING;
                INSERT INTO channel_identities (tenant_id, channel_id, platform_user_id, contact_id, created_at) VALUES ($t, $c, $u, $id, $n);
                INSERT INTO contacts (tenant_id, id, display_name, created_at) VALUES ($t, $id, $name, $n);
                """, "$t", "$c", "$u", "$id", "$name", "$n");
            insert.Parameters[0].Value = tenantId;
            insert.Parameters[1].Value = identity.ChannelId;
            insert.Parameters[2].Value = identity.PlatformUserId;
            insert.Parameters[3].Value = contactId;
            insert.Parameters[4].Value = (object?)displayName ?? DBNull.Value;
            insert.Parameters[5].Value = now;
            insert.ExecuteNonQuery();
            return new Contact { Id = contactId, TenantId = tenantId, DisplayName = displayName, CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(now) };
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<Contact?> FindContactAsync(string tenantId, ChannelIdentity identity, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenantId);
        ArgumentNullException.ThrowIfNull(identity);
        await using var connection = await database.OpenReadAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = FindContactSql;
        command.Parameters.AddWithValue("$t", tenantId);
        command.Parameters.AddWithValue("$c", identity.ChannelId);
        command.Parameters.AddWithValue("$u", identity.PlatformUserId);
        using var reader = command.ExecuteReader();
        return reader.Read() ? ReadContact(reader, tenantId) : null;
    }

    public async ValueTask<Conversation> GetOrCreateConversationAsync(string tenantId, long contactId, string channelId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenantId);
        ArgumentException.ThrowIfNullOrWhiteSpace(channelId);
        return await database.WriteAsync((connection, transaction) =>
        {
            var now = database.NowMilliseconds();
            using var insert = SqliteMessageStore.Command(connection, transaction, """
                INSERT INTO conversations (tenant_id, id, channel_id, contact_id, status, last_seq, created_at, updated_at)
                VALUES ($t, $id, $ch, $c, 0, 0, $n, $n)
                ON CONFLICT (tenant_id, contact_id, channel_id) DO NOTHING
                """, "$t", "$id", "$ch", "$c", "$n");
            insert.Parameters[0].Value = tenantId;
            insert.Parameters[1].Value = ids.NextId();
            insert.Parameters[2].Value = channelId;
            insert.Parameters[3].Value = contactId;
            insert.Parameters[4].Value = now;
            insert.ExecuteNonQuery();
            using var select = SqliteMessageStore.Command(connection, transaction,
                $"SELECT {StoredRows.ConversationColumns} FROM conversations WHERE tenant_id = $t AND contact_id = $c AND channel_id = $ch", "$t", "$c", "$ch");
            select.Parameters[0].Value = tenantId;
            select.Parameters[1].Value = contactId;
            select.Parameters[2].Value = channelId;
            return ReadConversations(select, tenantId)[0];
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<Conversation?> GetConversationAsync(string tenantId, long conversationId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenantId);
        await using var connection = await database.OpenReadAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {StoredRows.ConversationColumns} FROM conversations WHERE tenant_id = $t AND id = $id";
        command.Parameters.AddWithValue("$t", tenantId);
        command.Parameters.AddWithValue("$id", conversationId);
        var found = ReadConversations(command, tenantId);
        return found.Count > 0 ? found[0] : null;
    }

    public async ValueTask<IReadOnlyList<Conversation>> ListConversationsAsync(ConversationQuery query, CancellationToken cancellationToken)
    {
        StoredRows.Validate(query);
        await using var connection = await database.OpenReadAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT {StoredRows.ConversationColumns} FROM conversations
             WHERE tenant_id = $t AND ($s IS NULL OR status = $s) AND ($a IS NULL OR assignee_id = $a) AND ($team IS NULL OR team_id = $team)
               AND ($b IS NULL OR updated_at < $b OR (updated_at = $b AND id < $bid))
             ORDER BY updated_at DESC, id DESC
             LIMIT $l
            """;
        command.Parameters.AddWithValue("$t", query.TenantId);
        command.Parameters.AddWithValue("$s", query.Status is { } s ? (int)s : DBNull.Value);
        command.Parameters.AddWithValue("$a", (object?)query.AssigneeId ?? DBNull.Value);
        command.Parameters.AddWithValue("$team", (object?)query.TeamId ?? DBNull.Value);
        command.Parameters.AddWithValue("$l", query.Limit);
        command.Parameters.AddWithValue("$b", query.After is { } after ? after.UpdatedAt.ToUnixTimeMilliseconds() : DBNull.Value);
        command.Parameters.AddWithValue("$bid", query.After?.Id ?? 0);
        return ReadConversations(command, query.TenantId);
    }

    public async ValueTask<IReadOnlyDictionary<string, int>> CountOpenConversationsAsync(string tenantId, IReadOnlyCollection<string> assigneeIds, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenantId);
        ArgumentNullException.ThrowIfNull(assigneeIds);
        await using var connection = await database.OpenReadAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT assignee_id, count(*) FROM conversations
             WHERE tenant_id = $t AND status = $s AND assignee_id IN (SELECT value FROM json_each($a))
             GROUP BY assignee_id
            """;
        command.Parameters.AddWithValue("$t", tenantId);
        command.Parameters.AddWithValue("$s", (int)ConversationStatus.Open);
        command.Parameters.AddWithValue("$a", System.Text.Json.JsonSerializer.Serialize(assigneeIds));
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            counts[reader.GetString(0)] = reader.GetInt32(1);
        }

        return counts;
    }

    public async ValueTask<Conversation> UpdateConversationAsync(string tenantId, long conversationId, ConversationStatus status, string? assigneeId, string? teamId, CancellationToken cancellationToken) =>
        await UpdateAsync(tenantId, conversationId, null, status, assigneeId, teamId, null, cancellationToken).ConfigureAwait(false)
        ?? throw new ChatStorageException($"Conversation {conversationId} of tenant '{tenantId}' does not exist.");

    public ValueTask<Conversation?> UpdateConversationIfAsync(string tenantId, long conversationId, ConversationStatus expectedStatus, string? expectedAssigneeId,
        ConversationStatus status, string? assigneeId, string? teamId, int? assigneeCapacity, CancellationToken cancellationToken) =>
        UpdateAsync(tenantId, conversationId, (expectedStatus, expectedAssigneeId), status, assigneeId, teamId, assigneeCapacity, cancellationToken);

    private async ValueTask<Conversation?> UpdateAsync(string tenantId, long conversationId, (ConversationStatus Status, string? AssigneeId)? expected,
        ConversationStatus status, string? assigneeId, string? teamId, int? assigneeCapacity, CancellationToken cancellationToken)
    {
        StoredRows.ValidateUpdate(tenantId, status);

        return await database.WriteAsync((connection, transaction) =>
        {
            // One writer at a time: the expectation and the assignee's count are checked and the row changed in one step.
            using var command = SqliteMessageStore.Command(connection, transaction, $"""
                UPDATE conversations SET status = $s, assignee_id = $a, team_id = $team, updated_at = $n WHERE tenant_id = $t AND id = $id
                {(expected is null ? "" : "AND status = $es AND assignee_id IS $ea")}
                {(assigneeCapacity is null ? "" : "AND (SELECT count(*) FROM conversations o WHERE o.tenant_id = $t AND o.status = 1 AND o.assignee_id = $a AND o.id <> $id) < $cap")}
                RETURNING {StoredRows.ConversationColumns}
                """, "$s", "$a", "$n", "$t", "$id", "$team", "$es", "$ea", "$cap");
            command.Parameters[0].Value = (int)status;
            command.Parameters[1].Value = (object?)assigneeId ?? DBNull.Value;
            command.Parameters[2].Value = database.NowMilliseconds();
            command.Parameters[3].Value = tenantId;
            command.Parameters[4].Value = conversationId;
            command.Parameters[5].Value = (object?)teamId ?? DBNull.Value;
            command.Parameters[6].Value = expected is { } e ? (int)e.Status : DBNull.Value;
            command.Parameters[7].Value = (object?)expected?.AssigneeId ?? DBNull.Value;
            command.Parameters[8].Value = (object?)assigneeCapacity ?? DBNull.Value;
            var found = ReadConversations(command, tenantId);
            return found.Count > 0 ? found[0] : null;
        }, cancellationToken).ConfigureAwait(false);
    }

    private static Contact ReadContact(SqliteDataReader reader, string tenantId) => new()
    {
        Id = reader.GetInt64(0),
        TenantId = tenantId,
        DisplayName = reader.IsDBNull(1) ? null : reader.GetString(1),
        CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)),
    };

    private static List<Conversation> ReadConversations(SqliteCommand command, string tenantId)
    {
        var list = new List<Conversation>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            list.Add(StoredRows.ReadConversation(reader, tenantId));
        }

        return list;
    }
}
