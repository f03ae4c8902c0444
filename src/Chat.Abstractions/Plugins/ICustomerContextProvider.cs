namespace Chat.Plugins;

/// <summary>
/// Answers "who is this customer, what did they order, where is the parcel" for the agent's side panel
/// (an ERP or OMS plugin).
/// </summary>
public interface ICustomerContextProvider
{
    /// <summary>A short name of the source, shown on the cards (for example <c>jushuitan</c>).</summary>
    string Name { get; }

    /// <summary>Looks up a customer's orders and shipments, or one order.</summary>
    /// <param name="query">The customer or order to look up.</param>
    /// <param name="cancellationToken">Cancelled when the caller gives up.</param>
    /// <returns>The orders found; <see cref="CustomerContext.IsAvailable"/> is false when the source could not answer.</returns>
    ValueTask<CustomerContext> GetContextAsync(CustomerContextQuery query, CancellationToken cancellationToken);
}
