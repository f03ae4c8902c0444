using Chat.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.Hub.Tests.Infrastructure;

/// <summary>
/// A message store whose appends, while <see cref="Hold"/> is set, are stored at once but answered only once it is
/// cleared: the caller's wait for the answer can be cancelled meanwhile, as the real stores' batchers allow (a message
/// already queued is stored all the same). Its reads are counted (<see cref="Reads"/>) and can be made to fail (<see cref="FailReads"/>).
/// </summary>
public sealed class SlowAnswerMessageStore(IMessageStore inner) : IMessageStore
{
    private TaskCompletionSource? _hold;

    /// <summary>Appends stored while their answers were held back.</summary>
    public int Stored;

    /// <summary>Holds back the answers of appends from now on; returns what answers those held by this call alone.</summary>
    public Action Hold()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _hold = gate;
        return () => gate.TrySetResult();
    }

    /// <summary>Answers the appends held back since <see cref="Hold"/> was last called, and the later ones at once.</summary>
    public void Release() => Interlocked.Exchange(ref _hold, null)?.TrySetResult();

    /// <summary>Puts this store in front of the message store the storage registered.</summary>
    public static Func<SlowAnswerMessageStore> Around(IChatBuilder chat)
    {
        SlowAnswerMessageStore? made = null;
        var registered = chat.Services.Last(d => d.ServiceType == typeof(IMessageStore));
        chat.Services.Remove(registered);
        chat.Services.AddSingleton<IMessageStore>(sp => made = new SlowAnswerMessageStore((IMessageStore)registered.ImplementationFactory!(sp)));
        return () => made ?? throw new InvalidOperationException("The store was not made yet.");
    }

    public async ValueTask<AppendResult> AppendAsync(ChatMessage message, CancellationToken cancellationToken)
    {
        var hold = _hold;
        var result = await inner.AppendAsync(message, CancellationToken.None);
        if (hold is not null)
        {
            Interlocked.Increment(ref Stored);
            await hold.Task.WaitAsync(cancellationToken);
        }

        return result;
    }

    /// <summary>While set, history reads and looks for unattended messages fail as a storage fault would.</summary>
    public volatile bool FailReads;

    /// <summary>History reads asked of this store so far.</summary>
    public int Reads;

    public ValueTask<IReadOnlyList<ChatMessage>> ReadAfterAsync(MessageQuery query, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Reads);
        return FailReads ? throw new ChatStorageException("reads fail for this test") : inner.ReadAfterAsync(query, cancellationToken);
    }

    public ValueTask<ChatMessage?> FindByPlatformMessageIdAsync(string tenantId, string channelId, string platformMessageId, CancellationToken cancellationToken) =>
        inner.FindByPlatformMessageIdAsync(tenantId, channelId, platformMessageId, cancellationToken);

    public ValueTask<IReadOnlyList<ChatMessage>> ListUnattendedAsync(DateTimeOffset from, DateTimeOffset to, long afterId, int limit, CancellationToken cancellationToken) =>
        FailReads ? throw new ChatStorageException("reads fail for this test") : inner.ListUnattendedAsync(from, to, afterId, limit, cancellationToken);
}
