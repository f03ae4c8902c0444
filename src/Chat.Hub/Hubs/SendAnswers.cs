using Chat.Hub.Services;
using Chat.Protocol;
using Microsoft.AspNetCore.SignalR;

namespace Chat.Hub.Hubs;

/// <summary>
/// Builds a send's answer for one connection. The stored message goes back in full only when the sender cannot
/// rebuild it from its request: a plugin changed it, it was a retry, or the connection has no template yet for its
/// conversation and privacy. Everything else is answered with id, seq and time: a tenth of the bytes, for the hub
/// to write and the client to parse, on every message of a busy conversation.
/// </summary>
internal static class SendAnswers
{
    private static readonly object TemplatesKey = new();

    public static SendResult Create(HubCallerContext connection, SendRequest request, StoredSend sent)
    {
        var (result, asSent) = sent;
        var stored = result.Message;
        if (result.IsDuplicate || !asSent)
        {
            return new SendResult { Id = stored.Id, Seq = stored.Seq, CreatedAt = stored.CreatedAt, IsDuplicate = result.IsDuplicate, Message = stored };
        }

        // What the client holds: per conversation and privacy, the template it was last given, known here by its
        // metadata (one instance for every send of a kind, so a change, such as a conversation's platform sender
        // coming or going, sends a new template). The map lives and dies with the connection: a reconnected client
        // is given its templates again.
        var items = connection.Items;
        if (!items.TryGetValue(TemplatesKey, out var value) || value is not Dictionary<(long, bool), IReadOnlyDictionary<string, string>> templates)
        {
            templates = [];
            items[TemplatesKey] = templates;
        }

        var key = (stored.ConversationId, request.IsPrivate);
        lock (templates)
        {
            if (templates.TryGetValue(key, out var metadata) && ReferenceEquals(metadata, stored.Metadata))
            {
                return new SendResult { Id = stored.Id, Seq = stored.Seq, CreatedAt = stored.CreatedAt };
            }

            templates[key] = stored.Metadata;
        }

        return new SendResult { Id = stored.Id, Seq = stored.Seq, CreatedAt = stored.CreatedAt, Message = stored, IsTemplate = true };
    }
}
