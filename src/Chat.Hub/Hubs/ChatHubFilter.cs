using System.Diagnostics;
using Chat.Hub.Services;
using Chat.Storage;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Hubs;

/// <summary>
/// Around every call of the framework's hubs: the per-connection call rate limit, and the translation of a refused
/// request or a storage failure into a <see cref="HubException"/> whose message the caller sees.
/// </summary>
internal sealed class ChatHubFilter(IOptions<ChatHubOptions> options) : IHubFilter
{
    private static readonly object BucketKey = new();

    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        var o = options.Value;
        var items = invocationContext.Context.Items;
        if (!items.TryGetValue(BucketKey, out var value) || value is not TokenBucket bucket)
        {
            bucket = new TokenBucket(o.CallBurst, o.CallsPerSecond);
            items[BucketKey] = bucket;
        }

        if (!bucket.TryTake())
        {
            throw new HubException($"Rate limit: a connection may make {o.CallsPerSecond} calls per second (bursts of {o.CallBurst}); {invocationContext.HubMethodName} was refused, slow down and retry.");
        }

        try
        {
            return await next(invocationContext).ConfigureAwait(false);
        }
        catch (ChatRequestException ex)
        {
            throw new HubException(ex.Message);
        }
        catch (ChatStorageException)
        {
            throw new HubException("Storage is unavailable: nothing was stored. Retry with the same ClientMessageId.");
        }
    }

    /// <summary>A token bucket; a connection's calls run one at a time, the lock only guards against parallel invocations.</summary>
    private sealed class TokenBucket(int capacity, int perSecond)
    {
        private readonly Lock _lock = new();
        private double _tokens = capacity;
        private long _last = Stopwatch.GetTimestamp();

        public bool TryTake()
        {
            lock (_lock)
            {
                var now = Stopwatch.GetTimestamp();
                _tokens = Math.Min(capacity, _tokens + (Stopwatch.GetElapsedTime(_last, now).TotalSeconds * perSecond));
                _last = now;
                if (_tokens < 1)
                {
                    return false;
                }

                _tokens -= 1;
                return true;
            }
        }
    }
}
