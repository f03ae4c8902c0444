namespace Chat.Internal;

/// <summary>Raising a shared figure to a new value only if that is larger, without a lock.</summary>
internal static class AtomicMax
{
    /// <summary>Sets <paramref name="location"/> to <paramref name="value"/> if that is larger than what it holds, even when others write it at once.</summary>
    public static void Raise(ref long location, long value)
    {
        for (var known = Volatile.Read(ref location); value > known; known = Volatile.Read(ref location))
        {
            if (Interlocked.CompareExchange(ref location, value, known) == known)
            {
                return;
            }
        }
    }
}
