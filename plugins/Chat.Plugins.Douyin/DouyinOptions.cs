namespace Chat.Plugins.Douyin;

/// <summary>Settings of the Douyin channel, bound from <c>Chat:Plugins:douyin</c>.</summary>
public sealed class DouyinOptions
{
    /// <summary>The channel id: the webhook is <c>/chat/channels/{ChannelId}/webhook</c>. Default <c>douyin</c>.</summary>
    public string ChannelId { get; set; } = "douyin";

    /// <summary>The tenant the account's conversations belong to; null for the host's default tenant.</summary>
    public string? TenantId { get; set; }

    /// <summary>The application's client_key; pushes must name it, and our own sends carry it as <c>source</c>. Required.</summary>
    public string ClientKey { get; set; } = string.Empty;

    /// <summary>The application's client_secret: it signs pushes and fetches tokens. Required.</summary>
    public string ClientSecret { get; set; } = string.Empty;

    /// <summary>The enterprise account's open id, which replies are sent as. Required.</summary>
    public string AccountOpenId { get; set; } = string.Empty;

    /// <summary>The API base address; default <c>https://open.douyin.com/</c>. Tests point it at a local fake.</summary>
    public Uri ApiBaseAddress { get; set; } = new("https://open.douyin.com/");

    /// <summary>How long before its expiry a token is refreshed. Default 5 minutes.</summary>
    public TimeSpan TokenRefreshMargin { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary><c>error_code</c>s meaning the token expired or was revoked: refreshed and the send retried once.</summary>
    public IList<long> TokenErrorCodes { get; set; } = [2190002, 2190008, 28001003, 28001008];

    /// <summary><c>error_code</c>s of a transient failure, retried with backoff; every other non-zero code ends the delivery.</summary>
    public IList<long> RetryErrorCodes { get; set; } = [-1, 2100004];

    internal void Validate()
    {
        foreach (var (value, name) in new[] { (ClientKey, nameof(ClientKey)), (ClientSecret, nameof(ClientSecret)), (AccountOpenId, nameof(AccountOpenId)), (ChannelId, nameof(ChannelId)) })
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                throw new InvalidOperationException($"Chat:Plugins:douyin:{name} is required.");
            }
        }
    }
}
