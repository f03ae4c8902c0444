using System.Security.Claims;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Security;

/// <summary>Names of the framework's authentication scheme, policies and claims.</summary>
public static class ChatAuthentication
{
    /// <summary>The authentication scheme that reads visitor tokens (query <c>access_token</c> or <c>Authorization: Bearer</c>).</summary>
    public const string VisitorScheme = "ChatVisitor";

    /// <summary>The policy the customer hub requires: a valid visitor token.</summary>
    public const string CustomerPolicy = "ChatCustomer";

    /// <summary>
    /// The policy the agent hub and the REST endpoints require. By default: a user signed in through the host's default
    /// scheme who is not a visitor. A host replaces it by adding its own policy with this name.
    /// </summary>
    public const string AgentPolicy = "ChatAgent";

    /// <summary>
    /// The policy of the audit log's REST endpoint (<c>GET {prefix}/api/audit</c>). By default: a user signed in through
    /// the host's default scheme, not a visitor, in the role <see cref="AuditorRole"/>. A host replaces it by adding
    /// its own policy with this name.
    /// </summary>
    public const string AuditorPolicy = "ChatAuditor";

    /// <summary>The role the default <see cref="AuditorPolicy"/> requires: <c>chat-auditor</c>.</summary>
    public const string AuditorRole = "chat-auditor";

    /// <summary>
    /// The policy of erasing a customer's data on request (<c>DELETE {prefix}/api/contacts/{id}</c>). By default: a user
    /// signed in through the host's default scheme, not a visitor, in the role <see cref="PrivacyRole"/>. A host
    /// replaces it by adding its own policy with this name.
    /// </summary>
    public const string PrivacyPolicy = "ChatPrivacy";

    /// <summary>The role the default <see cref="PrivacyPolicy"/> requires: <c>chat-privacy</c>.</summary>
    public const string PrivacyRole = "chat-privacy";

    /// <summary>
    /// The role of an agent who hears every message of the tenant live (a supervisor, a team lead's wall), where the
    /// others hear only their own conversations and those they opened (<see cref="ChatHubOptions.AgentsHearEveryMessage"/>):
    /// <c>chat-supervisor</c>.
    /// </summary>
    public const string SupervisorRole = "chat-supervisor";

    /// <summary>The claim that carries a visitor's tenant.</summary>
    public const string VisitorTenantClaim = "chat_visitor_tenant";

    /// <summary>The claim that carries a visitor's customer id.</summary>
    public const string VisitorCustomerClaim = "chat_visitor";
}

/// <summary>Who is calling a hub or an endpoint: a customer (visitor) or an agent, and of which tenant.</summary>
internal sealed record ChatCaller(string TenantId, string Id, string? DisplayName, SenderKind Kind)
{
    /// <summary>An agent's teams (empty for customers).</summary>
    public IReadOnlyList<string> Teams { get; init; } = [];

    /// <summary>An agent in the role <see cref="ChatAuthentication.SupervisorRole"/>: hears every message of the tenant.</summary>
    public bool IsSupervisor { get; init; }

    /// <summary>The caller as a message's sender: one instance for all its messages (it is immutable).</summary>
    /// <remarks>Made with the caller; a copy made by <c>with</c> would keep the original's, so none is made.</remarks>
    public MessageSender Sender { get; } = new(Kind, Id) { DisplayName = DisplayName };

    public static ChatCaller Customer(ClaimsPrincipal user) =>
        new(user.FindFirstValue(ChatAuthentication.VisitorTenantClaim) ?? throw new InvalidOperationException("No visitor tenant claim."),
            user.FindFirstValue(ChatAuthentication.VisitorCustomerClaim) ?? throw new InvalidOperationException("No visitor claim."),
            user.FindFirstValue(ClaimTypes.Name), SenderKind.Customer);

    public static ChatCaller? Agent(ClaimsPrincipal user, ChatHubOptions options)
    {
        var id = user.FindFirstValue(ClaimTypes.NameIdentifier) ?? user.FindFirstValue("sub") ?? user.Identity?.Name;
        if (string.IsNullOrEmpty(id) || user.HasClaim(static c => c.Type == ChatAuthentication.VisitorCustomerClaim))
        {
            return null;
        }

        var tenant = user.FindFirstValue(options.AgentTenantClaim) ?? options.DefaultTenantId;
        return new ChatCaller(tenant, id, user.FindFirstValue(ClaimTypes.Name) ?? user.FindFirstValue("name") ?? user.Identity?.Name, SenderKind.Agent)
        {
            Teams = user.FindAll(options.AgentTeamClaim).Select(static c => c.Value).ToArray(),
            IsSupervisor = user.IsInRole(ChatAuthentication.SupervisorRole),
        };
    }
}

/// <summary>The visitor token keys in use: the configured ones, or one random key made at start-up.</summary>
internal sealed class VisitorKeyRing
{
    public VisitorKeyRing(IOptions<ChatHubOptions> options)
    {
        var configured = options.Value.VisitorTokenKeys;
        Keys = configured.Count == 0
            ? [System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)]
            : configured.Select(static (k, i) => Decode(k, i)).ToArray();
    }

    public IReadOnlyList<byte[]> Keys { get; }

    private static byte[] Decode(string key, int index)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(key);
        }
        catch (FormatException ex)
        {
            throw new OptionsValidationException(nameof(ChatHubOptions), typeof(ChatHubOptions), [$"Chat:Hub:VisitorTokenKeys:{index} is not base64: {ex.Message}"]);
        }

        return bytes.Length >= 32
            ? bytes
            : throw new OptionsValidationException(nameof(ChatHubOptions), typeof(ChatHubOptions), [$"Chat:Hub:VisitorTokenKeys:{index} is {bytes.Length} bytes; a key must be at least 32 bytes."]);
    }
}
