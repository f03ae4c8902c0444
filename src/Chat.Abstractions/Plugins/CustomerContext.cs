namespace Chat.Plugins;

/// <summary>What a context provider knows of a customer: orders, their items and their shipments.</summary>
public sealed record CustomerContext
{
    /// <summary>The source's name (<see cref="ICustomerContextProvider.Name"/>).</summary>
    public required string Source { get; init; }

    /// <summary>The orders found, newest first.</summary>
    public IReadOnlyList<OrderInfo> Orders { get; init; } = [];

    /// <summary>False when the source could not answer (slow or down); see <see cref="UnavailableReason"/>.</summary>
    public bool IsAvailable { get; init; } = true;

    /// <summary>Why the source could not answer, for the agent.</summary>
    public string? UnavailableReason { get; init; }

    /// <summary>A context saying the source could not answer.</summary>
    /// <param name="source">The source's name.</param>
    /// <param name="reason">Why, for the agent.</param>
    /// <returns>The context.</returns>
    public static CustomerContext Unavailable(string source, string reason) =>
        new() { Source = source, IsAvailable = false, UnavailableReason = reason };
}
