namespace Chat.Plugins.Shared;

/// <summary>
/// A platform access token, fetched once, reused until shortly before it expires, and refreshed by one caller at a
/// time however many deliveries need it at once (no stampede on the platform's token endpoint).
/// </summary>
internal sealed class AccessTokenCache(Func<CancellationToken, Task<(string Token, TimeSpan Lifetime)>> fetch, TimeProvider time, TimeSpan margin)
{
    /// <summary>The longest token the platforms document (WeChat: store up to 512 characters).</summary>
    public const int MaxTokenLength = 512;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private Entry? _current;

    /// <summary>The current token, fetching a new one when there is none or it is about to expire.</summary>
    public async ValueTask<string> GetAsync(CancellationToken cancellationToken)
    {
        var entry = Volatile.Read(ref _current);
        if (entry is not null && time.GetUtcNow() < entry.RefreshAt)
        {
            return entry.Token;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            entry = Volatile.Read(ref _current);
            if (entry is not null && time.GetUtcNow() < entry.RefreshAt)
            {
                return entry.Token; // another caller refreshed it while this one waited
            }

            var (token, lifetime) = await fetch(cancellationToken).ConfigureAwait(false);
            if (string.IsNullOrEmpty(token) || token.Length > MaxTokenLength)
            {
                throw new InvalidDataException($"The platform returned an access token of {token?.Length ?? 0} characters; expected 1 to {MaxTokenLength}.");
            }

            // Refresh a margin before expiry, but never sooner than half the lifetime (a short-lived token is still reused).
            var early = lifetime - margin < lifetime / 2 ? lifetime / 2 : lifetime - margin;
            Volatile.Write(ref _current, new Entry(token, time.GetUtcNow() + early));
            return token;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Forgets <paramref name="rejected"/> after the platform refused it (expired or revoked), so the next
    /// <see cref="GetAsync"/> fetches a new one. A token another caller already replaced is left alone.
    /// </summary>
    public void Invalidate(string rejected)
    {
        var entry = Volatile.Read(ref _current);
        if (entry is not null && string.Equals(entry.Token, rejected, StringComparison.Ordinal))
        {
            Interlocked.CompareExchange(ref _current, null, entry);
        }
    }

    private sealed record Entry(string Token, DateTimeOffset RefreshAt);
}
