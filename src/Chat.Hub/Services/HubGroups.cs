namespace Chat.Hub.Services;

/// <summary>SignalR group names: a tenant's agents. (A conversation's customer connections are indexed by <see cref="Hubs.ChatConnections"/>.)</summary>
internal static class HubGroups
{
    public static string Agents(string tenantId) => $"a:{tenantId}";
}
