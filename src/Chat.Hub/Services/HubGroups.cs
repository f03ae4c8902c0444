namespace Chat.Hub.Services;

/// <summary>SignalR group names: a conversation's customer connections, and a tenant's agents.</summary>
internal static class HubGroups
{
    public static string Customers(string tenantId, long conversationId) => $"c:{tenantId}:{conversationId}";

    public static string Agents(string tenantId) => $"a:{tenantId}";
}
