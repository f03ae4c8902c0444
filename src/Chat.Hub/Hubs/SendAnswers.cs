using Chat.Hub.Services;
using Chat.Protocol;
using Chat.Storage;
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

        // A connection's calls run one at a time (SignalR's default of one parallel invocation per client), and
        // the set lives and dies with the connection: a reconnected client gets its templates again.
        var items = connection.Items;
        if (!items.TryGetValue(TemplatesKey, out var value) || value is not HashSet<(long, bool)> templates)
        {
            templates = [];
            items[TemplatesKey] = templates;
        }

        lock (templates)
        {
            if (!templates.Add((stored.ConversationId, request.IsPrivate)))
            {
                return new SendResult { Id = stored.Id, Seq = stored.Seq, CreatedAt = stored.CreatedAt };
            }
        }

        return new SendResult { Id = stored.Id, Seq = stored.Seq, CreatedAt = stored.CreatedAt, Message = stored, IsTemplate = true };
    }
}
