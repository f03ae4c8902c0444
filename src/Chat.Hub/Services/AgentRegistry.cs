using System.Collections.Concurrent;
using Chat.Protocol;

namespace Chat.Hub.Services;

/// <summary>
/// The agents connected to this node (presence, capacity and connections, per tenant) and, with several nodes, the
/// agents the other nodes report available (<see cref="AgentPresenceReplica"/>), so a node assigns conversations to
/// any available agent of the tenant, wherever that agent is connected.
/// </summary>
internal sealed class AgentRegistry
{
    // Per tenant, so the checks on a customer message's path look at that tenant's agents only.
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, AgentState>> _tenants = new(StringComparer.Ordinal);

    // What each other node last reported: its available agents by tenant, until when the report holds. Changed under
    // _remoteGate (a report every few seconds per node); read without it on a customer message's path.
    private readonly ConcurrentDictionary<string, RemoteNode> _remote = new(StringComparer.Ordinal);
    private readonly Lock _remoteGate = new();

    // Whether _remote holds any node, set under _remoteGate. The message path reads this instead of _remote.IsEmpty,
    // which on an empty dictionary (every single node) takes all the dictionary's locks, one per core, on every call.
    private volatile bool _anyRemote;

    // When this node last gave each agent (of any node) a conversation, for ties between equally loaded agents.
    private readonly ConcurrentDictionary<(string Tenant, string Agent), long> _lastAssigned = new();

    /// <summary>Raised when this node's agents' availability may have changed (presence, capacity, last connection).</summary>
    public event Action? Changed;

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

        bool wentOffline;
        lock (state)
        {
            state.Connections.Remove(connectionId);
            wentOffline = state.Connections.Count == 0 && state.Presence != AgentPresence.Offline;
            if (state.Connections.Count == 0)
            {
                state.Presence = AgentPresence.Offline;
            }
        }

        if (wentOffline)
        {
            Changed?.Invoke();
        }
    }

    /// <summary>Sets an agent's presence and capacity.</summary>
    public void SetPresence(AgentState state, AgentPresence presence, int capacity)
    {
        lock (state)
        {
            state.Presence = presence;
            state.Capacity = capacity;
        }

        Changed?.Invoke();
    }

    public AgentState? Find(string tenantId, string agentId) =>
        _tenants.TryGetValue(tenantId, out var agents) ? agents.GetValueOrDefault(agentId) : null;

    /// <summary>An agent's open connections to this node (none when the agent is not connected here).</summary>
    public string[] ConnectionsOf(string tenantId, string agentId)
    {
        if (Find(tenantId, agentId) is not { } state)
        {
            return [];
        }

        lock (state)
        {
            return state.Connections.Count == 0 ? [] : [.. state.Connections];
        }
    }

    /// <summary>Whether any agent of the tenant, on this node or another, is online with some capacity.</summary>
    public bool AnyAvailable(string tenantId)
    {
        if (_tenants.TryGetValue(tenantId, out var agents))
        {
            foreach (var (_, state) in agents)
            {
                if (state.Presence == AgentPresence.Online && state.Capacity > 0)
                {
                    return true;
                }
            }
        }

        if (_anyRemote)
        {
            var now = System.Diagnostics.Stopwatch.GetTimestamp();
            foreach (var (_, node) in _remote)
            {
                if (node.ExpiresAt > now && node.Agents.ContainsKey(tenantId))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// The tenant's agents (of a team, if given), on this node or another, that are online with some capacity, with
    /// when this node last gave each a conversation. An agent connected to several nodes is listed once, with the most
    /// capacity any of them reports.
    /// </summary>
    public List<(string AgentId, int Capacity, long LastAssigned)> Available(string tenantId, string? teamId)
    {
        var found = new Dictionary<string, int>(StringComparer.Ordinal);
        if (_tenants.TryGetValue(tenantId, out var agents))
        {
            foreach (var (agent, state) in agents)
            {
                if (state.Presence == AgentPresence.Online && state.Capacity > 0 && (teamId is null || state.Teams.Contains(teamId)))
                {
                    found[agent] = state.Capacity;
                }
            }
        }

        if (_anyRemote)
        {
            var now = System.Diagnostics.Stopwatch.GetTimestamp();
            foreach (var (_, node) in _remote)
            {
                if (node.ExpiresAt <= now || !node.Agents.TryGetValue(tenantId, out var remoteAgents))
                {
                    continue;
                }

                foreach (var agent in remoteAgents)
                {
                    if ((teamId is null || agent.Teams.Contains(teamId)) && agent.Capacity > found.GetValueOrDefault(agent.AgentId))
                    {
                        found[agent.AgentId] = agent.Capacity;
                    }
                }
            }
        }

        return found.Select(a => (a.Key, a.Value, _lastAssigned.GetValueOrDefault((tenantId, a.Key)))).ToList();
    }

    /// <summary>Records that this node gave the agent a conversation now.</summary>
    public void MarkAssigned(string tenantId, string agentId) =>
        _lastAssigned[(tenantId, agentId)] = System.Diagnostics.Stopwatch.GetTimestamp();

    /// <summary>This node's agents that are online with some capacity, for the other nodes.</summary>
    public List<AvailableAgent> LocalAvailable()
    {
        var result = new List<AvailableAgent>();
        foreach (var (tenantId, agents) in _tenants)
        {
            foreach (var (agentId, state) in agents)
            {
                lock (state)
                {
                    if (state.Presence == AgentPresence.Online && state.Capacity > 0)
                    {
                        result.Add(new AvailableAgent(tenantId, agentId, state.Capacity, state.Teams));
                    }
                }
            }
        }

        return result;
    }

    /// <summary>What another node reports available now, holding until <paramref name="expiresAt"/> (a <see cref="System.Diagnostics.Stopwatch"/> timestamp) unless it reports again.</summary>
    public void SetRemote(string nodeId, IReadOnlyList<AvailableAgent> agents, long expiresAt)
    {
        var byTenant = agents.Count == 0 ? null : agents.GroupBy(static a => a.TenantId, StringComparer.Ordinal)
            .ToDictionary(static g => g.Key, static g => g.ToList(), StringComparer.Ordinal);
        lock (_remoteGate)
        {
            if (byTenant is null)
            {
                _remote.TryRemove(nodeId, out _);
            }
            else
            {
                _remote[nodeId] = new RemoteNode(expiresAt, byTenant);
            }

            // Forget nodes that stopped reporting (gone without saying so).
            var now = System.Diagnostics.Stopwatch.GetTimestamp();
            foreach (var (id, node) in _remote)
            {
                if (node.ExpiresAt <= now)
                {
                    _remote.TryRemove(new KeyValuePair<string, RemoteNode>(id, node));
                }
            }

            _anyRemote = !_remote.IsEmpty;
        }
    }

    private sealed record RemoteNode(long ExpiresAt, Dictionary<string, List<AvailableAgent>> Agents);
}

/// <summary>An agent online with some capacity, as a node reports it to the others.</summary>
internal sealed record AvailableAgent(string TenantId, string AgentId, int Capacity, IReadOnlyList<string> Teams);

/// <summary>One agent's state on this node.</summary>
internal sealed class AgentState(int capacity)
{
    public HashSet<string> Connections { get; } = [];

    public AgentPresence Presence { get; set; }

    public int Capacity { get; set; } = capacity;

    public IReadOnlyList<string> Teams { get; set; } = [];
}
