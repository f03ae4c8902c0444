using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Chat.Storage.Internal;

/// <summary>The <c>chat-storage</c> health check: Healthy when the store answers a trivial query, Unhealthy with the reason when not.</summary>
internal sealed class StorageHealthCheck(Func<CancellationToken, Task> probe, string storeName) : IHealthCheck
{
    public const string Name = "chat-storage";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await probe(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"{storeName} answers");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"{storeName} does not answer: {ex.Message}", ex);
        }
    }
}
