namespace Chat.Plugins.Webhook;

/// <summary>Settings of the generic signed-HTTP channel, bound from <c>Chat:Plugins:webhook</c>.</summary>
public sealed class WebhookChannelOptions
{
    /// <summary>The channel id: the inbound URL is <c>/chat/channels/{ChannelId}/webhook</c>. Default <c>webhook</c>.</summary>
    public string ChannelId { get; set; } = "webhook";

    /// <summary>The tenant the channel's conversations belong to; null for the host's default tenant.</summary>
    public string? TenantId { get; set; }

    /// <summary>The shared secret (at least 16 characters) that signs both directions. Required.</summary>
    public string Secret { get; set; } = string.Empty;

    /// <summary>The previous secret, still accepted on inbound requests while a rotation is under way.</summary>
    public string? PreviousSecret { get; set; }

    /// <summary>Where agents' replies are posted; null when the platform only pushes.</summary>
    public Uri? OutboundUrl { get; set; }

    /// <summary>How far a request's timestamp may be from now, either way. Default 5 minutes.</summary>
    public TimeSpan TimestampTolerance { get; set; } = TimeSpan.FromMinutes(5);

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Secret) || Secret.Length < 16)
        {
            throw new InvalidOperationException("Chat:Plugins:webhook:Secret is required and at least 16 characters.");
        }

        if (string.IsNullOrWhiteSpace(ChannelId))
        {
            throw new InvalidOperationException("Chat:Plugins:webhook:ChannelId is required.");
        }

        if (OutboundUrl is { IsAbsoluteUri: false } || OutboundUrl?.Scheme is not (null or "http" or "https"))
        {
            throw new InvalidOperationException("Chat:Plugins:webhook:OutboundUrl must be an absolute http or https URL.");
        }
    }
}
