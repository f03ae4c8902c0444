namespace Chat.Hub;

/// <summary>Settings of the hubs, webhooks and REST endpoints (<c>Chat:Hub</c>).</summary>
public sealed class ChatHubOptions
{
    /// <summary>The tenant for agents whose sign-in carries no tenant claim and for pushes whose plugin names none. Default <c>default</c>.</summary>
    public string DefaultTenantId { get; set; } = "default";

    /// <summary>The claim that names an agent's tenant. Default <c>tenant</c>.</summary>
    public string AgentTenantClaim { get; set; } = "tenant";

    /// <summary>The claim (one per team) that names the teams an agent belongs to. Default <c>team</c>.</summary>
    public string AgentTeamClaim { get; set; } = "team";

    /// <summary>
    /// Keys that sign and verify visitor tokens (base64, at least 32 bytes each). The first signs; every one verifies,
    /// so a new key can be put first while tokens signed with the old one are still in use. When empty, the host makes
    /// a random key at start-up: only tokens it issues itself are then valid, and only until it restarts.
    /// </summary>
    public IList<string> VisitorTokenKeys { get; } = [];

    /// <summary>Whether <c>POST {prefix}/visitor-token</c> issues anonymous visitor tokens (a demo shop, a widget
    /// without sign-in). Default false.</summary>
    public bool AllowAnonymousVisitors { get; set; }

    /// <summary>How long an anonymous visitor token is valid. Default 30 days.</summary>
    public TimeSpan AnonymousVisitorLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// Origins (<c>https://shop.example</c>) whose pages may connect. A browser connection from any other origin is
    /// refused with 403 (cross-site WebSocket hijacking); same-origin pages and clients that send no Origin header
    /// (servers, apps) are always let in. <c>*</c> lets every origin in.
    /// </summary>
    public IList<string> AllowedOrigins { get; } = [];

    /// <summary>
    /// Whether an agent's reads of customer data (a conversation's history, the customer context panel) are recorded
    /// in the append-only audit log (<see cref="Chat.Storage.IAuditLog"/>) before the data is shown; a read whose
    /// record cannot be written is refused. Default true.
    /// </summary>
    public bool AuditAgentAccess { get; set; } = true;

    /// <summary>
    /// Whether every agent of a tenant hears every message of the tenant live (a supervisors' wall, a single shared
    /// inbox). Off by default: an agent connection hears the messages, typing and read receipts of the conversations
    /// assigned to its agent and of those it has resumed (read, which the audit log records), so an agent's screen gets
    /// only the customers it serves, and a node pushes each message to those agents instead of to all of them.
    /// Conversation and delivery changes (no message content) go to all the tenant's agents either way.
    /// </summary>
    public bool AgentsHearEveryMessage { get; set; }

    /// <summary>
    /// How long a customer's data is kept after their last activity; null (the default) keeps it until it is erased on
    /// request. When set, each node erases, every <see cref="RetentionSweepInterval"/>, each contact created longer ago
    /// none of whose conversations has changed since (a message, a status change): the contact, its channel
    /// identities, its conversations with their messages and deliveries (<see cref="Chat.Storage.IContactEraser"/>).
    /// At least one day.
    /// </summary>
    public TimeSpan? RetainInactiveContactsFor { get; set; }

    /// <summary>
    /// How long a message is kept after it was stored, for customers who keep writing; null (the default) keeps messages
    /// as long as their contact. When set, each node erases, every <see cref="RetentionSweepInterval"/>, the messages
    /// stored longer ago, with their deliveries (<see cref="Chat.Storage.IContactEraser.EraseMessagesCreatedBeforeAsync"/>);
    /// conversations and contacts stay, and seqs go on. At least one day.
    /// </summary>
    public TimeSpan? RetainMessagesFor { get; set; }

    /// <summary>How often the nodes look for contacts past <see cref="RetainInactiveContactsFor"/> and messages past <see cref="RetainMessagesFor"/>. Default 1 hour.</summary>
    public TimeSpan RetentionSweepInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The most characters of a message's content. Default 4,000.</summary>
    public int MaxContentLength { get; set; } = 4_000;

    /// <summary>The largest hub message, in bytes; a connection that sends a larger one is closed. Default 64 KiB.</summary>
    public long MaxHubMessageBytes { get; set; } = 64 * 1024;

    /// <summary>The largest webhook body, in bytes; larger pushes get 413. Default 1 MiB.</summary>
    public long MaxWebhookBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// How many bytes of sent but not yet acknowledged messages an agent connection keeps for SignalR's stateful
    /// reconnect. When it is full, sends to that agent wait for the client's acknowledgement (about once a second), so
    /// it must hold a second of an agent's traffic at peak. Default 8 MiB; a customer connection keeps SignalR's default.
    /// </summary>
    public long AgentReconnectBufferBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>
    /// The most bytes (estimated) of pushes that may wait to be written to one customer connection; a connection over it
    /// (a device gone dark, a client that keeps its connection alive but does not read) is closed, and its client
    /// reconnects and resumes. Default 1 MiB; at least 64 KiB.
    /// </summary>
    public long CustomerBacklogBytes { get; set; } = 1024 * 1024;

    /// <summary>How many hub calls a connection may make per second, on average. Default 20.</summary>
    public int CallsPerSecond { get; set; } = 20;

    /// <summary>How many hub calls a connection may make at once above <see cref="CallsPerSecond"/>. Default 40.</summary>
    public int CallBurst { get; set; } = 40;

    /// <summary>How many attempts a delivery to a platform gets before it fails for good. Default 8.</summary>
    public int MaxDeliveryAttempts { get; set; } = 8;

    /// <summary>The wait before the first retry of a delivery; it doubles with each attempt, up to 5 minutes, unless the platform says how long. Default 1 s.</summary>
    public TimeSpan DeliveryRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long one delivery attempt may take. Default 30 s.</summary>
    public TimeSpan DeliveryTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How many conversations an agent takes at once unless they say otherwise. Default 5.</summary>
    public int DefaultAgentCapacity { get; set; } = 5;
}
