using Chat.Client;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests;

/// <summary>How long a client waits before each reconnect: forever, spread at random so that a node's clients do not come back at once.</summary>
public sealed class ReconnectPolicyTests
{
    [Fact]
    public void Reconnects_never_stop_and_each_wait_is_drawn_from_a_growing_bounded_range()
    {
        var policy = new HubSession.ForeverRetryPolicy();
        (double Low, double High)[] ranges = [(0, 0.5), (0.5, 1), (1, 2), (2, 4), (2.5, 5)];
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var (low, high) = ranges[Math.Min(attempt, ranges.Length - 1)];
            var waits = Enumerable.Range(0, 2000)
                .Select(_ => policy.NextRetryDelay(new RetryContext { PreviousRetryCount = attempt, RetryReason = new IOException("cut") }))
                .Select(wait => Assert.NotNull(wait).TotalSeconds)
                .ToList();
            Assert.All(waits, wait => Assert.InRange(wait, low, high));

            // Spread over the range, not bunched: 2,000 clients cut at once come back over most of it.
            Assert.True(waits.Max() - waits.Min() > (high - low) * 0.9, $"attempt {attempt}: waits from {waits.Min():F3} s to {waits.Max():F3} s");
        }
    }
}
