using Chat.Storage.Internal;
using Npgsql;

namespace Chat.Storage.Postgres;

/// <summary>Contacts, channel identities and conversations in PostgreSQL.</summary>
internal sealed class PostgresConversationStore(PostgresDataSources dataSources, IIdGenerator ids) : IConversationStore
{
    /// <summary>
    /// A customer's identity, its contact and its conversation on the identity's channel, each by its own key. The
    /// identity is looked up first, on its own (a materialized CTE): the statement is prepared, and on tables not yet
    /// analyzed (a new database in its first minute, before autovacuum has run) PostgreSQL's generic plan for the plain
    /// three-way join walked the tenant's identities and conversations by tenant and channel alone, reading every one of
    /// them for each customer who connected.
    /// </summary>
    internal static readonly string ResolveSql = $"""
        WITH i AS MATERIALIZED (
            SELECT tenant_id, channel_id, contact_id FROM chat.channel_identities
             WHERE tenant_id = $1 AND channel_id = $2 AND platform_user_id = $3)
        SELECT {StoredRows.ColumnsOf(StoredRows.ConversationColumns, "v")}, k.display_name, k.created_at
          FROM i
          JOIN chat.contacts k ON k.tenant_id = i.tenant_id AND k.id = i.contact_id
          JOIN chat.conversations v ON v.tenant_id = i.tenant_id AND v.contact_id = i.contact_id AND v.channel_id = i.channel_id
        """;

    /// <summary>
    /// A customer's contact by their identity, the identity looked up on its own first for the same reason as in
    /// <see cref="ResolveSql"/>: the plain join's generic plan walked <c>channel_identities_by_contact</c> by tenant and
    /// channel alone, every identity of the channel for each new customer who connected.
    /// </summary>
    internal const string FindContactSql = """
        WITH i AS MATERIALIZED (
            SELECT tenant_id, contact_id FROM chat.channel_identities
             WHERE tenant_id = $1 AND channel_id = $2 AND platform_user_id = $3)
        SELECT c.id, c.display_name, c.created_at
          FROM i
          JOIN chat.contacts c ON c.tenant_id = i.tenant_id AND c.id = i.contact_id
        """;

    public async ValueTask<Contact> ResolveContactAsync(string tenantId, ChannelIdentity identity, string? displayName, CancellationToken cancellationToken)
    {
        StoredRows.ValidateIdentity(tenantId, identity);

        return await Guard(async () =>
        {
            for (var attempt = 0; attempt < 2; attempt++)
            {
                if (await FindContactCoreAsync(tenantId, identity, cancellationToken).ConfigureAwait(false) is { } existing)
                {
                    return existing;
                }

                // New identity: the tenant, the identity and the contact in one statement. A concurrent creator wins
                // the identity's primary key; then the lookup above finds its contact.
                await using var command = dataSources.Primary.CreateCommand("""
                    WITH t AS (INSERT INTO chat.tenants (tenant_id) VALUES ($1) ON CONFLICT DO NOTHING),
                         i AS (INSERT INTO chat.channel_identities (tenant_id, channel_id, platform_user_id, contact_id)
                               VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING contact_id)
                    INSERT INTO chat.contacts (tenant_id, id, display_name)
                    SELECT $1, i.contact_id, $5 FROM i
                    RETURNING id, display_name, created_at
                    """);
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenantId });
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = identity.ChannelId });
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = identity.PlatformUserId });
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = ids.NextId() });
                command.Parameters.Add(new NpgsqlParameter { Value = (object?)displayName ?? DBNull.Value });
                await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    return ReadContact(reader, tenantId);
                }
            }

            throw new ChatStorageException($"Could not resolve the contact of a customer of channel {identity.ChannelId} in tenant '{tenantId}'.");
        }).ConfigureAwait(false);
    }

    public async ValueTask<Conversation> GetOrCreateConversationAsync(string tenantId, long contactId, string channelId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenantId);
        ArgumentException.ThrowIfNullOrWhiteSpace(channelId);
        return await Guard(async () =>
        {
            await using var command = dataSources.Primary.CreateCommand($"""
                WITH ins AS (
                    INSERT INTO chat.conversations (tenant_id, id, channel_id, contact_id)
                    VALUES ($1, $2, $3, $4)
                    ON CONFLICT (tenant_id, contact_id, channel_id) DO NOTHING
                    RETURNING {StoredRows.ConversationColumns})
                SELECT {StoredRows.ConversationColumns} FROM ins
                UNION ALL
                SELECT {StoredRows.ConversationColumns} FROM chat.conversations
                 WHERE tenant_id = $1 AND contact_id = $4 AND channel_id = $3
                """);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenantId });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = ids.NextId() });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = channelId });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = contactId });
            var found = await ReadConversationsAsync(command, tenantId, cancellationToken).ConfigureAwait(false);
            if (found.Count == 0)
            {
                // The insert lost to a concurrent one whose row this statement's snapshot could not see yet.
                await using var again = dataSources.Primary.CreateCommand(
                    $"SELECT {StoredRows.ConversationColumns} FROM chat.conversations WHERE tenant_id = $1 AND contact_id = $2 AND channel_id = $3");
                again.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenantId });
                again.Parameters.Add(new NpgsqlParameter<long> { TypedValue = contactId });
                again.Parameters.Add(new NpgsqlParameter<string> { TypedValue = channelId });
                found = await ReadConversationsAsync(again, tenantId, cancellationToken).ConfigureAwait(false);
            }

            return found.Count > 0
                ? found[0]
                : throw new ChatStorageException($"Could not open a conversation for contact {contactId} on channel '{channelId}'.");
        }).ConfigureAwait(false);
    }

    public async ValueTask<ResolvedConversation> ResolveConversationAsync(string tenantId, ChannelIdentity identity, string? displayName, CancellationToken cancellationToken)
    {
        StoredRows.ValidateIdentity(tenantId, identity);

        // A customer who wrote before: the identity, its contact and the conversation on its channel in one statement.
        var found = await Guard<ResolvedConversation?>(async () =>
        {
            await using var command = dataSources.Primary.CreateCommand(ResolveSql);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenantId });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = identity.ChannelId });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = identity.PlatformUserId });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            var conversation = StoredRows.ReadConversation(reader, tenantId);
            var at = StoredRows.ConversationColumnCount;
            var contact = new Contact
            {
                Id = conversation.ContactId,
                TenantId = tenantId,
                DisplayName = reader.IsDBNull(at) ? null : reader.GetString(at),
                CreatedAt = reader.GetFieldValue<DateTimeOffset>(at + 1),
            };
            return new ResolvedConversation(contact, conversation);
        }).ConfigureAwait(false);
        if (found is not null)
        {
            return found;
        }

        var created = await ResolveContactAsync(tenantId, identity, displayName, cancellationToken).ConfigureAwait(false);
        return new ResolvedConversation(created, await GetOrCreateConversationAsync(tenantId, created.Id, identity.ChannelId, cancellationToken).ConfigureAwait(false));
    }

    public async ValueTask<Conversation?> GetConversationAsync(string tenantId, long conversationId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenantId);
        return await Guard(async () =>
        {
            await using var command = dataSources.Primary.CreateCommand(
                $"SELECT {StoredRows.ConversationColumns} FROM chat.conversations WHERE tenant_id = $1 AND id = $2");
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenantId });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = conversationId });
            var found = await ReadConversationsAsync(command, tenantId, cancellationToken).ConfigureAwait(false);
            return found.Count > 0 ? found[0] : null;
        }).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<Conversation>> ListConversationsAsync(ConversationQuery query, CancellationToken cancellationToken)
    {
        StoredRows.Validate(query);
        return await Guard(async () =>
        {
            await using var command = dataSources.For(query.Consistency).CreateCommand($"""
                SELECT {StoredRows.ConversationColumns} FROM chat.conversations
                 WHERE tenant_id = $1 AND ($2::smallint IS NULL OR status = $2) AND ($3::text IS NULL OR assignee_id = $3)
                   AND ($5::text IS NULL OR team_id = $5)
                   AND ($6::timestamptz IS NULL OR (updated_at, id) < ($6, $7))
                 ORDER BY updated_at DESC, id DESC
                 LIMIT $4
                """);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = query.TenantId });
            command.Parameters.Add(new NpgsqlParameter { Value = query.Status is { } s ? (short)s : DBNull.Value });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)query.AssigneeId ?? DBNull.Value });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = query.Limit });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)query.TeamId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = query.After is { } after ? after.UpdatedAt : DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = query.After?.Id ?? 0 });
            return (IReadOnlyList<Conversation>)await ReadConversationsAsync(command, query.TenantId, cancellationToken).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyDictionary<string, int>> CountOpenConversationsAsync(string tenantId, IReadOnlyCollection<string> assigneeIds, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenantId);
        ArgumentNullException.ThrowIfNull(assigneeIds);
        return await Guard(async () =>
        {
            // The partial index on (tenant_id, assignee_id) finds each agent's conversations.
            await using var command = dataSources.Primary.CreateCommand(
                "SELECT assignee_id, count(*)::int FROM chat.conversations WHERE tenant_id = $1 AND assignee_id = ANY($2) AND status = $3 GROUP BY assignee_id");
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenantId });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. assigneeIds] });
            command.Parameters.Add(new NpgsqlParameter<short> { TypedValue = (short)ConversationStatus.Open });
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                counts[reader.GetString(0)] = reader.GetInt32(1);
            }

            return (IReadOnlyDictionary<string, int>)counts;
        }).ConfigureAwait(false);
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

        // With an expectation, the row lock makes a concurrent update wait and then check it against the new row.
        var sql = $"""
            UPDATE chat.conversations SET status = $3, assignee_id = $4, team_id = $5, updated_at = now()
             WHERE tenant_id = $1 AND id = $2
               {(expected is null ? "" : "AND status = $6 AND assignee_id IS NOT DISTINCT FROM $7")}
               {(assigneeCapacity is null ? "" : "AND (SELECT count(*) FROM chat.conversations o WHERE o.tenant_id = $1 AND o.status = 1 AND o.assignee_id = $4 AND o.id <> $2) < $8")}
            RETURNING {StoredRows.ConversationColumns}
            """;
        void AddParameters(NpgsqlParameterCollection parameters)
        {
            parameters.Add(new NpgsqlParameter<string> { TypedValue = tenantId });
            parameters.Add(new NpgsqlParameter<long> { TypedValue = conversationId });
            parameters.Add(new NpgsqlParameter<short> { TypedValue = (short)status });
            parameters.Add(new NpgsqlParameter { Value = (object?)assigneeId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            parameters.Add(new NpgsqlParameter { Value = (object?)teamId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            if (expected is { } e)
            {
                parameters.Add(new NpgsqlParameter<short> { TypedValue = (short)e.Status });
                parameters.Add(new NpgsqlParameter { Value = (object?)e.AssigneeId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            }

            if (assigneeCapacity is { } capacity)
            {
                parameters.Add(new NpgsqlParameter<long> { TypedValue = capacity });
            }
        }

        return await Guard(async () =>
        {
            if (assigneeCapacity is null)
            {
                await using var command = dataSources.Primary.CreateCommand(sql);
                AddParameters(command.Parameters);
                var found = await ReadConversationsAsync(command, tenantId, cancellationToken).ConfigureAwait(false);
                return found.Count > 0 ? found[0] : null;
            }

            // Changes giving one assignee conversations take turns (a transaction-scoped advisory lock on the tenant and
            // assignee), and the update's count, in a statement after the lock, sees every one committed before.
            await using var connection = await dataSources.Primary.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (var gate = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 0))", connection, transaction))
            {
                gate.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenantId });
                gate.Parameters.Add(new NpgsqlParameter<string> { TypedValue = assigneeId ?? "" });
                await gate.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using var update = new NpgsqlCommand(sql, connection, transaction);
            AddParameters(update.Parameters);
            var changed = await ReadConversationsAsync(update, tenantId, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return changed.Count > 0 ? changed[0] : null;
        }).ConfigureAwait(false);
    }

    public async ValueTask<Contact?> FindContactAsync(string tenantId, ChannelIdentity identity, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenantId);
        ArgumentNullException.ThrowIfNull(identity);
        return await Guard(() => FindContactCoreAsync(tenantId, identity, cancellationToken)).ConfigureAwait(false);
    }

    private async Task<Contact?> FindContactCoreAsync(string tenantId, ChannelIdentity identity, CancellationToken cancellationToken)
    {
        await using var command = dataSources.Primary.CreateCommand(FindContactSql);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenantId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = identity.ChannelId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = identity.PlatformUserId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadContact(reader, tenantId) : null;
    }

    private static Contact ReadContact(NpgsqlDataReader reader, string tenantId) => new()
    {
        Id = reader.GetInt64(0),
        TenantId = tenantId,
        DisplayName = reader.IsDBNull(1) ? null : reader.GetString(1),
        CreatedAt = reader.GetFieldValue<DateTimeOffset>(2),
    };

    private static async Task<List<Conversation>> ReadConversationsAsync(NpgsqlCommand command, string tenantId, CancellationToken cancellationToken)
    {
        var list = new List<Conversation>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(StoredRows.ReadConversation(reader, tenantId));
        }

        return list;
    }

    private static async Task<T> Guard<T>(Func<Task<T>> operation)
    {
        try
        {
            return await operation().ConfigureAwait(false);
        }
        catch (NpgsqlException ex) when (ex is not PostgresException)
        {
            throw new ChatStorageException($"PostgreSQL is unreachable: {ex.Message}", ex);
        }
    }
}
