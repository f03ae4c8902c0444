using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.Hub.Hubs;

/// <summary>
/// Makes the Chat hubs for each call from the application's own services. SignalR's default activator is registered
/// scoped, so every hub call (one for each customer message) put an entry for it into the call's service scope, an
/// array and an activator object more per call; the Chat hubs depend only on singletons, so one activator serves all
/// calls and builds each hub straight from them.
/// </summary>
/// <typeparam name="THub">A hub whose constructor takes singletons only.</typeparam>
internal sealed class SingletonHubActivator<THub>(IServiceProvider services) : IHubActivator<THub>
    where THub : Microsoft.AspNetCore.SignalR.Hub
{
    private static readonly ObjectFactory<THub> Factory = ActivatorUtilities.CreateFactory<THub>([]);

    public THub Create() => Factory(services, null);

    public void Release(THub hub)
    {
        ArgumentNullException.ThrowIfNull(hub);
        hub.Dispose();
    }
}
