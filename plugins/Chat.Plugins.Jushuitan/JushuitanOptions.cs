namespace Chat.Plugins.Jushuitan;

/// <summary>Settings of the Jushuitan ERP plugin, bound from <c>Chat:Plugins:jushuitan</c>.</summary>
public sealed class JushuitanOptions
{
    /// <summary>The open API base address; default <c>https://openapi.jushuitan.com/</c>. Tests point it at a local fake.</summary>
    public Uri ApiBaseAddress { get; set; } = new("https://openapi.jushuitan.com/");

    /// <summary>The application's app_key. Required.</summary>
    public string AppKey { get; set; } = string.Empty;

    /// <summary>The application's app_secret, which signs every request. Required.</summary>
    public string AppSecret { get; set; } = string.Empty;

    /// <summary>The shop's access_token. Required.</summary>
    public string AccessToken { get; set; } = string.Empty;

    /// <summary>What an order number looks like in a customer's message (a .NET regular expression). Default: 8 to 24 digits.</summary>
    public string OrderNumberPattern { get; set; } = @"(?<![0-9])[0-9]{8,24}(?![0-9])";

    /// <summary>At most this many order numbers of one message are looked up. Default 3.</summary>
    public int MaxOrdersPerMessage { get; set; } = 3;

    /// <summary>
    /// How long a message waits for the ERP before it goes on with an "unavailable" card. Default 1 second; keep it
    /// under the plugin host's time budget (2 seconds by default).
    /// </summary>
    public TimeSpan LookupTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long an order's answer is cached. Default 5 minutes.</summary>
    public TimeSpan CacheDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Load the orders modified within <see cref="PrewarmWindow"/> into the cache at start-up. Default false.</summary>
    public bool PrewarmRecentOrders { get; set; }

    /// <summary>How far back pre-warming looks; at most 7 days. Default 1 day.</summary>
    public TimeSpan PrewarmWindow { get; set; } = TimeSpan.FromDays(1);

    /// <summary>At most this many orders are pre-warmed. Default 2,000.</summary>
    public int PrewarmMaxOrders { get; set; } = 2000;

    internal void Validate()
    {
        foreach (var (value, name) in new[] { (AppKey, nameof(AppKey)), (AppSecret, nameof(AppSecret)), (AccessToken, nameof(AccessToken)) })
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                throw new InvalidOperationException($"Chat:Plugins:jushuitan:{name} is required.");
            }
        }

        if (PrewarmWindow <= TimeSpan.Zero || PrewarmWindow > TimeSpan.FromDays(7))
        {
            throw new InvalidOperationException("Chat:Plugins:jushuitan:PrewarmWindow must be more than zero and at most 7 days.");
        }
    }
}
