namespace Chat.Runtime.Loading;

/// <summary>The plugins found at start-up, their statuses, and their contract implementations.</summary>
public interface IPluginCatalog
{
    /// <summary>Every plugin found, active or not, in load order (compiled-in first, then folders by name).</summary>
    IReadOnlyList<PluginInfo> Plugins { get; }

    /// <summary>
    /// The implementations of a plugin contract (<c>IChannelPlugin</c>, <c>IWebhookHandler</c>, <c>IChannelSender</c>,
    /// <c>ICustomerContextProvider</c>) from every active plugin. Channel plugins come guarded, in pipeline order.
    /// </summary>
    /// <typeparam name="T">The contract type.</typeparam>
    /// <returns>The implementations.</returns>
    IReadOnlyList<T> GetServices<T>()
        where T : class;
}
