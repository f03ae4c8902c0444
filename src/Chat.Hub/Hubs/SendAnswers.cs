using Chat.Hub.Services;
using Chat.Protocol;

namespace Chat.Hub.Hubs;

/// <summary>
/// Builds a send's answer for one connection. The stored message goes back in full only when the sender cannot
/// rebuild it from its request: a plugin changed it, it was a retry, or the connection has no template yet for its
/// conversation and privacy. Everything else is answered with id, seq and time: a tenth of the bytes, for the hub
/// to write and the client to parse, on every message of a busy conversation.
/// </summary>
internal static class SendAnswers
{
    public static SendResult Create(ChatConnection connection, SendRequest request, StoredSend sent)
    {
        var (result, asSent) = sent;
        var stored = result.Message;
        if (result.IsDuplicate || !asSent)
        {
            return new SendResult { Id = stored.Id, Seq = stored.Seq, CreatedAt = stored.CreatedAt, IsDuplicate = result.IsDuplicate, Message = stored };
        }

        // What the client holds: per conversation and privacy, the template it was last given, known here by its
        // metadata (one instance for every send of a kind, so a change, such as a conversation's platform sender
        // coming or going, sends a new template). The record lives and dies with the connection: a reconnected client
        // is given its templates again.
        return connection.HoldsTemplate(stored.ConversationId, request.IsPrivate, stored.Metadata)
            ? new SendResult { Id = stored.Id, Seq = stored.Seq, CreatedAt = stored.CreatedAt }
            : new SendResult { Id = stored.Id, Seq = stored.Seq, CreatedAt = stored.CreatedAt, Message = stored, IsTemplate = true };
    }
}
