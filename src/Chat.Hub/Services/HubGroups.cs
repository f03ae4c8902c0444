namespace Chat.Hub.Services;

/// <summary>SignalR group names: a tenant's agents, and its supervisors. (A conversation's customer connections are indexed by <see cref="Hubs.ChatConnections"/>.)</summary>
internal static class HubGroups
{
    public static string Agents(string tenantId) => $"a:{tenantId}";

    /// <summary>The tenant's agent connections in the role <see cref="Security.ChatAuthentication.SupervisorRole"/>, who hear every message.</summary>
    public static string Supervisors(string tenantId) => $"s:{tenantId}";
}
