using System.Text;

namespace Chat;

/// <summary>How a platform names a customer: the channel and the platform's user id (an openid, for example).</summary>
/// <param name="ChannelId">The channel id.</param>
/// <param name="PlatformUserId">The platform's id of the user.</param>
public sealed record ChannelIdentity(string ChannelId, string PlatformUserId)
{
    // The platform's user id by its length only (see PersonalData).
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("ChannelId = ").Append(ChannelId).Append(", ").AppendRedacted(nameof(PlatformUserId), PlatformUserId);
        return true;
    }
}
