using System.Collections.Concurrent;
using Chat.Protocol;

namespace Chat.Hub.Services;

/// <summary>The agents connected to this node: presence, capacity and connections, per tenant.</summary>
/// <remarks>
/// Node-local: with several nodes, each assigns conversations to the agents connected to it; an agent on another
/// node sees the shared queue and accepts from it.
/// </remarks>
internal sealed class AgentRegistry
{
    // Per tenant, so the checks on a customer message's path look at that tenant's agents only.
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, AgentState>> _tenants = new(StringComparer.Ordinal);

    private ConcurrentDictionary<string, AgentState> Tenant(string tenantId) =>
        _tenants.GetOrAdd(tenantId, static _ => new ConcurrentDictionary<string, AgentState>(StringComparer.Ordinal));

    public AgentState Connect(string tenantId, string agentId, string connectionId, int defaultCapacity, IReadOnlyList<string> teams)
    {
        var state = Tenant(tenantId).GetOrAdd(agentId, static (_, capacity) => new AgentState(capacity), defaultCapacity);
        lock (state)
        {
            state.Connections.Add(connectionId);
            state.Teams = teams;
        }

        return state;
    }

    /// <summary>Removes a connection; the agent's last one takes the agent offline.</summary>
    public void Disconnect(string tenantId, string agentId, string connectionId)
    {
        if (!_tenants.TryGetValue(tenantId, out var agents) || !agents.TryGetValue(agentId, out var state))
        {
            return;
        }

        lock (state)
        {
            state.Connections.Remove(connectionId);
            if (state.Connections.Count == 0)
            {
                state.Presence = AgentPresence.Offline;
            }
        }
    }

    public AgentState? Find(string tenantId, string agentId) =>
        _tenants.TryGetValue(tenantId, out var agents) ? agents.GetValueOrDefault(agentId) : null;

    /// <summary>Whether any agent of the tenant is online with some capacity.</summary>
    public bool AnyAvailable(string tenantId)
    {
        if (!_tenants.TryGetValue(tenantId, out var agents))
        {
            return false;
        }

        foreach (var (_, state) in agents)
        {
            if (state.Presence == AgentPresence.Online && state.Capacity > 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The tenant's agents (of a team, if given) that are online with some capacity, with when each was last given a conversation.</summary>
    public List<(string AgentId, int Capacity, long LastAssigned)> Available(string tenantId, string? teamId)
    {
        var result = new List<(string, int, long)>();
        if (!_tenants.TryGetValue(tenantId, out var agents))
        {
            return result;
        }

        foreach (var (agent, state) in agents)
        {
            if (state.Presence == AgentPresence.Online && state.Capacity > 0 && (teamId is null || state.Teams.Contains(teamId)))
            {
                result.Add((agent, state.Capacity, Interlocked.Read(ref state.LastAssigned)));
            }
        }

        return result;
    }
}

/// <summary>One agent's state on this node.</summary>
internal sealed class AgentState(int capacity)
{
    public HashSet<string> Connections { get; } = [];

    public AgentPresence Presence { get; set; }

    public int Capacity { get; set; } = capacity;

    public IReadOnlyList<string> Teams { get; set; } = [];

    public long LastAssigned;
}
