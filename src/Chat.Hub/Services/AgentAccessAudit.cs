using Chat.Hub.Security;
using Chat.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Services;

/// <summary>
/// Records an agent's access to customer data in the audit log before the data is shown: when the record cannot be
/// written, the access is refused (503), so nothing is ever shown without a record of it.
/// </summary>
internal sealed partial class AgentAccessAudit(IServiceProvider services, IOptions<ChatHubOptions> options, ChatHubMetrics metrics, ILogger<AgentAccessAudit> logger)
{
    private readonly IAuditLog? _log = options.Value.AuditAgentAccess ? (IAuditLog?)services.GetService(typeof(IAuditLog)) : null;

    /// <summary>The message of the options check that needs an <see cref="IAuditLog"/>.</summary>
    public const string MissingLog = "Chat:Hub:AuditAgentAccess is on, but no IAuditLog is registered: add a storage (AddPostgresStorage, AddSqliteStorage), register your own IAuditLog, or turn AuditAgentAccess off.";

    public Task RecordAsync(ChatCaller agent, string action, Conversation conversation, string? detail, string? remoteAddress, CancellationToken cancellationToken) =>
        RecordAsync(agent, action, conversation.Id, conversation.ContactId, detail, remoteAddress, cancellationToken);

    public async Task RecordAsync(ChatCaller agent, string action, long? conversationId, long? contactId, string? detail, string? remoteAddress, CancellationToken cancellationToken)
    {
        if (_log is null)
        {
            return;
        }

        try
        {
            await _log.AppendAsync(new AuditEntry
            {
                TenantId = agent.TenantId,
                ActorId = agent.Id,
                Action = action,
                ConversationId = conversationId,
                ContactId = contactId,
                Detail = detail,
                RemoteAddress = remoteAddress,
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogNotRecorded(logger, ex, action, agent.Id, agent.TenantId, conversationId, contactId);
            metrics.AuditRefusal(action);
            throw new ChatRequestException("The access could not be recorded in the audit log, so it was refused. Retry later.", 503);
        }
    }

    [LoggerMessage(EventId = 48, Level = LogLevel.Error, Message = "Could not record {Action} by agent '{AgentId}' of tenant '{TenantId}' (conversation {ConversationId}, contact {ContactId}) in the audit log; the access was refused.")]
    private static partial void LogNotRecorded(ILogger logger, Exception exception, string action, string agentId, string tenantId, long? conversationId, long? contactId);
}
