using System.Data.Common;

namespace Chat.Storage.Internal;

/// <summary>
/// What the stores share about their rows: query checks, and reading a message or conversation row whose columns come
/// in the order the stores select them. Times are timestamptz in PostgreSQL and Unix milliseconds in SQLite.
/// </summary>
internal static class StoredRows
{
    /// <summary>The message columns, in the order <see cref="ReadMessage"/> reads them.</summary>
    public const string MessageColumns =
        "id, conversation_id, seq, channel_id, direction, sender_kind, sender_id, sender_name, kind, content, " +
        "client_message_id, platform_message_id, metadata, created_at, platform_timestamp";

    /// <summary>How many columns <see cref="MessageColumns"/> has: a join's further columns start there.</summary>
    public static readonly int MessageColumnCount = MessageColumns.Split(", ").Length;

    /// <summary>A column list (<see cref="MessageColumns"/>, <see cref="ConversationColumns"/>) of a table alias, for joins.</summary>
    public static string ColumnsOf(string columns, string alias) => Prefixed(columns, alias + ".");

    /// <summary>A column list with each name prefixed (<c>r_</c> for the columns a function returns under its own names).</summary>
    public static string Prefixed(string columns, string prefix) =>
        string.Join(", ", columns.Split(", ").Select(c => prefix + c));

    /// <summary>Outbox statuses as stored: waiting for a first attempt, waiting for a retry, sent, failed for good.</summary>
    public static short OutboxStatus(Plugins.DeliveryStatus status) => status switch
    {
        Plugins.DeliveryStatus.Retry => 1,
        Plugins.DeliveryStatus.Sent => 2,
        _ => 3,
    };

    public static void Validate(MessageQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentException.ThrowIfNullOrWhiteSpace(query.TenantId, "query.TenantId");
        ArgumentOutOfRangeException.ThrowIfNegative(query.AfterSeq, "query.AfterSeq");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(query.Limit, "query.Limit");
        ArgumentOutOfRangeException.ThrowIfGreaterThan(query.Limit, MessageQuery.MaxLimit, "query.Limit");
    }

    /// <summary>Checks the window and page size of <see cref="IMessageStore.ListUnattendedAsync"/>.</summary>
    public static void ValidateUnattended(DateTimeOffset from, DateTimeOffset to, int limit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(to, from);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, 1000);
    }

    /// <summary>Checks a tenant and a channel identity, naming the field that is empty.</summary>
    public static void ValidateIdentity(string tenantId, ChannelIdentity identity)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenantId);
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentException.ThrowIfNullOrWhiteSpace(identity.ChannelId, "identity.ChannelId");
        ArgumentException.ThrowIfNullOrWhiteSpace(identity.PlatformUserId, "identity.PlatformUserId");
    }

    public static void ValidatePlatformMessageKey(string tenantId, string channelId, string platformMessageId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenantId);
        ArgumentException.ThrowIfNullOrWhiteSpace(channelId);
        ArgumentException.ThrowIfNullOrWhiteSpace(platformMessageId);
    }

    public static void Validate(ConversationQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentException.ThrowIfNullOrWhiteSpace(query.TenantId, "query.TenantId");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(query.Limit, "query.Limit");
        ArgumentOutOfRangeException.ThrowIfGreaterThan(query.Limit, 1000, "query.Limit");
    }

    /// <summary>Checks the arguments of a conversation update, as both stores take them.</summary>
    public static void ValidateUpdate(string tenantId, ConversationStatus status)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenantId);
        if (!Enum.IsDefined(status))
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "Not a conversation status.");
        }
    }

    public static ChatMessage ReadMessage(DbDataReader reader, string tenantId) => new()
    {
        Id = reader.GetInt64(0),
        TenantId = tenantId,
        ConversationId = reader.GetInt64(1),
        Seq = reader.GetInt64(2),
        ChannelId = reader.GetString(3),
        Direction = (MessageDirection)reader.GetInt32(4),
        Sender = new MessageSender((SenderKind)reader.GetInt32(5), reader.GetString(6))
        {
            DisplayName = reader.IsDBNull(7) ? null : reader.GetString(7),
        },
        Kind = (MessageKind)reader.GetInt32(8),
        Content = reader.GetString(9),
        ClientMessageId = reader.IsDBNull(10) ? null : reader.GetString(10),
        PlatformMessageId = reader.IsDBNull(11) ? null : reader.GetString(11),
        Metadata = MetadataJson.Parse(reader.IsDBNull(12) ? null : reader.GetString(12)),
        CreatedAt = ReadTime(reader, 13),
        PlatformTimestamp = reader.IsDBNull(14) ? null : ReadTime(reader, 14),
    };

    /// <summary>The conversation columns, in the order <see cref="ReadConversation"/> reads them.</summary>
    public const string ConversationColumns = "id, channel_id, contact_id, status, assignee_id, last_seq, created_at, updated_at, team_id";

    /// <summary>How many columns <see cref="ConversationColumns"/> names: the ordinal of the first column after them.</summary>
    public static readonly int ConversationColumnCount = ConversationColumns.Split(", ").Length;

    /// <summary>Reads <see cref="ConversationColumns"/>.</summary>
    public static Conversation ReadConversation(DbDataReader reader, string tenantId) => new()
    {
        Id = reader.GetInt64(0),
        TenantId = tenantId,
        ChannelId = reader.GetString(1),
        ContactId = reader.GetInt64(2),
        Status = (ConversationStatus)reader.GetInt32(3),
        AssigneeId = reader.IsDBNull(4) ? null : reader.GetString(4),
        LastSeq = reader.GetInt64(5),
        CreatedAt = ReadTime(reader, 6),
        UpdatedAt = ReadTime(reader, 7),
        TeamId = reader.IsDBNull(8) ? null : reader.GetString(8),
    };

    /// <summary>The audit log's columns, in the order <see cref="ReadAuditEntry"/> reads them.</summary>
    public const string AuditColumns = "id, at, actor_id, action, conversation_id, contact_id, detail, remote_address";

    public static AuditEntry ReadAuditEntry(DbDataReader reader, string tenantId) => new()
    {
        TenantId = tenantId,
        Id = reader.GetInt64(0),
        At = ReadTime(reader, 1),
        ActorId = reader.GetString(2),
        Action = reader.GetString(3),
        ConversationId = reader.IsDBNull(4) ? null : reader.GetInt64(4),
        ContactId = reader.IsDBNull(5) ? null : reader.GetInt64(5),
        Detail = reader.IsDBNull(6) ? null : reader.GetString(6),
        RemoteAddress = reader.IsDBNull(7) ? null : reader.GetString(7),
    };

    private static DateTimeOffset ReadTime(DbDataReader reader, int ordinal) =>
        reader.GetFieldType(ordinal) == typeof(long)
            ? DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal))
            : reader.GetFieldValue<DateTimeOffset>(ordinal);
}
