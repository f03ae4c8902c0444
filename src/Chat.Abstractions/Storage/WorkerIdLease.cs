namespace Chat.Storage;

/// <summary>A worker number held by one node until <see cref="ExpiresAt"/>.</summary>
/// <param name="WorkerId">The worker number, 0 to 1023.</param>
/// <param name="Token">A value that proves the holder's ownership on renewal and release.</param>
/// <param name="ExpiresAt">When the lease lapses unless renewed.</param>
public sealed record WorkerIdLease(int WorkerId, Guid Token, DateTimeOffset ExpiresAt);
