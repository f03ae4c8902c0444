using System.Collections.Concurrent;

namespace Chat.Hub.Tests.Infrastructure;

/// <summary>Collects what a client's events delivered, in delivery order.</summary>
public sealed class Received
{
    private readonly ConcurrentQueue<ChatMessage> _messages = new();

    public IReadOnlyList<ChatMessage> Messages => _messages.ToArray();

    public Task AddAsync(ChatMessage message)
    {
        _messages.Enqueue(message);
        return Task.CompletedTask;
    }

    public IReadOnlyList<ChatMessage> In(long conversationId) => Messages.Where(m => m.ConversationId == conversationId).ToList();

    public Task WaitForAsync(long conversationId, int count, string who) =>
        Eventually.TrueAsync(() => In(conversationId).Count >= count, $"{who} to receive {count} message(s) of conversation {conversationId} (has {In(conversationId).Count})");
}
