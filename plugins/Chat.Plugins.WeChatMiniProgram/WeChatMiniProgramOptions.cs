namespace Chat.Plugins.WeChatMiniProgram;

/// <summary>Settings of the WeChat mini-program channel, bound from <c>Chat:Plugins:wechat-miniprogram</c>.</summary>
public sealed class WeChatMiniProgramOptions
{
    /// <summary>The channel id: the webhook is <c>/chat/channels/{ChannelId}/webhook</c>. Default <c>wechat-miniprogram</c>.</summary>
    public string ChannelId { get; set; } = "wechat-miniprogram";

    /// <summary>The tenant the mini-program's conversations belong to; null for the host's default tenant.</summary>
    public string? TenantId { get; set; }

    /// <summary>The mini-program's AppID (<c>wx...</c>); decrypted pushes must name it. Required.</summary>
    public string AppId { get; set; } = string.Empty;

    /// <summary>The AppSecret, to fetch access tokens. Required.</summary>
    public string AppSecret { get; set; } = string.Empty;

    /// <summary>The message-push Token from the mini-program's settings. Required.</summary>
    public string Token { get; set; } = string.Empty;

    /// <summary>The 43-character EncodingAESKey; required for compatible and safe modes.</summary>
    public string? EncodingAesKey { get; set; }

    /// <summary>The previous EncodingAESKey, still accepted for decryption while a key rotation is under way.</summary>
    public string? PreviousEncodingAesKey { get; set; }

    /// <summary>The API base address; default <c>https://api.weixin.qq.com/</c>. Tests point it at a local fake.</summary>
    public Uri ApiBaseAddress { get; set; } = new("https://api.weixin.qq.com/");

    /// <summary>Use <c>cgi-bin/stable_token</c> instead of <c>cgi-bin/token</c>. Default false.</summary>
    public bool UseStableToken { get; set; }

    /// <summary>How long before its expiry an access token is refreshed. Default 5 minutes.</summary>
    public TimeSpan TokenRefreshMargin { get; set; } = TimeSpan.FromMinutes(5);

    internal void Validate()
    {
        Require(AppId, nameof(AppId));
        Require(AppSecret, nameof(AppSecret));
        Require(Token, nameof(Token));
        Require(ChannelId, nameof(ChannelId));
        if (EncodingAesKey is not null)
        {
            _ = WeChatCrypto.DecodeKey(EncodingAesKey, nameof(EncodingAesKey));
        }

        if (PreviousEncodingAesKey is not null)
        {
            _ = WeChatCrypto.DecodeKey(PreviousEncodingAesKey, nameof(PreviousEncodingAesKey));
        }

        static void Require(string value, string name)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                throw new InvalidOperationException($"Chat:Plugins:wechat-miniprogram:{name} is required.");
            }
        }
    }
}
