namespace Chat.Plugins;

/// <summary>One attempt to deliver an outbound message to a platform.</summary>
public sealed record OutboundDelivery
{
    /// <summary>The stored message to deliver.</summary>
    public required ChatMessage Message { get; init; }

    /// <summary>The customer's identity on the platform.</summary>
    public required ChannelIdentity Recipient { get; init; }

    /// <summary>The attempt number, from 1.</summary>
    public int Attempt { get; init; } = 1;

    /// <summary>
    /// The customer's latest inbound message before this one in the conversation, when there is one: platforms whose
    /// replies must quote the message answered (Douyin's <c>msg_id</c> and <c>conversation_id</c>) read it from its
    /// <see cref="ChatMessage.Metadata"/>.
    /// </summary>
    public ChatMessage? InReplyTo { get; init; }
}
