using Chat.Plugins;
using Chat.Protocol;

namespace Chat.Storage.Tests.Conformance;

/// <summary>The outbox part of the conformance suite: written with the message, claimed under a lease, retried, ended.</summary>
public abstract partial class StoreConformanceTests
{
    private static ChatMessage Reply(Conversation conversation, string content, bool deliver) => Message(conversation, content, clientId: Guid.NewGuid().ToString("N")) with
    {
        Direction = MessageDirection.Outbound,
        Sender = new MessageSender(SenderKind.Agent, "alice"),
        PlatformMessageId = null,
        Metadata = deliver ? new Dictionary<string, string> { [MessageMetadataKeys.Deliver] = "true" } : new Dictionary<string, string>(),
    };

    [Fact]
    public async Task A_message_marked_for_delivery_gets_an_outbox_entry_with_its_recipient_and_others_do_not()
    {
        var conversation = await NewConversationAsync(user: "openid-outbox");
        var reply = await Store.Messages.AppendAsync(Reply(conversation, "your parcel is on its way", deliver: true), CancellationToken.None);
        await Store.Messages.AppendAsync(Reply(conversation, "not for the platform", deliver: false), CancellationToken.None);

        var claimed = await Store.Outbox.ClaimDueAsync(10, TimeSpan.FromMinutes(1), CancellationToken.None);
        var entry = Assert.Single(claimed);
        Assert.Equal((reply.Message.Id, reply.Message.Seq, "your parcel is on its way"), (entry.Message.Id, entry.Message.Seq, entry.Message.Content));
        Assert.Equal(new ChannelIdentity("wechat", "openid-outbox"), entry.Recipient);
        Assert.Equal(1, entry.Attempt);

        // Claimed under a lease: nobody else gets it meanwhile.
        Assert.Empty(await Store.Outbox.ClaimDueAsync(10, TimeSpan.FromMinutes(1), CancellationToken.None));

        // A retry makes it due again (here: at once), counting the attempt; sent ends it.
        await Store.Outbox.RecordAsync(entry, DeliveryStatus.Retry, "platform busy", DateTimeOffset.UtcNow.AddSeconds(-1), CancellationToken.None);
        var second = Assert.Single(await Store.Outbox.ClaimDueAsync(10, TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.Equal(2, second.Attempt);
        await Store.Outbox.RecordAsync(second, DeliveryStatus.Sent, null, null, CancellationToken.None);
        Assert.Empty(await Store.Outbox.ClaimDueAsync(10, TimeSpan.FromMilliseconds(1), CancellationToken.None));
    }

    [Fact]
    public async Task A_retried_append_writes_one_outbox_entry_and_a_failed_delivery_is_never_claimed_again()
    {
        var conversation = await NewConversationAsync(user: "openid-outbox-2");
        var message = Reply(conversation, "hello", deliver: true);
        await Store.Messages.AppendAsync(message, CancellationToken.None);
        Assert.True((await Store.Messages.AppendAsync(message, CancellationToken.None)).IsDuplicate);

        var entry = Assert.Single(await Store.Outbox.ClaimDueAsync(10, TimeSpan.FromMilliseconds(1), CancellationToken.None));
        await Store.Outbox.RecordAsync(entry, DeliveryStatus.Failed, "45015: the reply window is closed", null, CancellationToken.None);
        await Task.Delay(20);
        Assert.Empty(await Store.Outbox.ClaimDueAsync(10, TimeSpan.FromMinutes(1), CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.Outbox.ClaimDueAsync(0, TimeSpan.FromMinutes(1), CancellationToken.None).AsTask());
    }
}
