namespace Chat;

/// <summary>How a platform names a customer: the channel and the platform's user id (an openid, for example).</summary>
/// <param name="ChannelId">The channel id.</param>
/// <param name="PlatformUserId">The platform's id of the user.</param>
public sealed record ChannelIdentity(string ChannelId, string PlatformUserId);
