using System.Collections.Concurrent;

namespace Chat.Storage.Tests.Conformance;

/// <summary>Erasing a customer's data on request: everything of the contact goes, nothing of anyone else's.</summary>
public abstract partial class StoreConformanceTests
{
    [Fact]
    public async Task Erasing_a_contact_removes_its_identities_conversations_messages_and_deliveries_and_nothing_else()
    {
        // Ann has two conversations (two channels), one with a pending delivery; Ben has one.
        var annWeb = await NewConversationAsync(user: "ann", channel: "web");
        var ann = (await Store.Conversations.FindContactAsync(Tenant, new ChannelIdentity("web", "ann"), CancellationToken.None))!;
        await Store.Conversations.ResolveContactAsync(Tenant, new ChannelIdentity("web", "ann"), "Ann", CancellationToken.None);
        var annWeChat = await Store.Conversations.GetOrCreateConversationAsync(Tenant, ann.Id, "wechat", CancellationToken.None);
        var ben = await NewConversationAsync(user: "ben", channel: "web");
        await Store.Messages.AppendAsync(Message(annWeb, "my phone is 13800000000", clientId: "a1"), CancellationToken.None);
        await Store.Messages.AppendAsync(Message(annWeb, "and my address", clientId: "a2"), CancellationToken.None);
        await Store.Messages.AppendAsync(Message(annWeChat, "hello from wechat", platformId: "wx-1"), CancellationToken.None);
        await Store.Messages.AppendAsync(Reply(annWeChat, "we will call you", deliver: true), CancellationToken.None);
        await Store.Messages.AppendAsync(Message(ben, "ben's message", clientId: "b1"), CancellationToken.None);
        await Store.Messages.AppendAsync(Reply(ben, "ben's reply", deliver: true), CancellationToken.None);

        var erased = await Store.Eraser.EraseContactAsync(Tenant, ann.Id, CancellationToken.None);

        Assert.Equal(new ContactErasure(Contacts: 1, ChannelIdentities: 1, Conversations: 2, Messages: 4, Deliveries: 1), erased);
        Assert.Null(await Store.Conversations.FindContactAsync(Tenant, new ChannelIdentity("web", "ann"), CancellationToken.None));
        Assert.Null(await Store.Conversations.GetConversationAsync(Tenant, annWeb.Id, CancellationToken.None));
        Assert.Null(await Store.Conversations.GetConversationAsync(Tenant, annWeChat.Id, CancellationToken.None));
        Assert.Empty(await ReadAsync(annWeb));
        Assert.Empty(await ReadAsync(annWeChat));

        // Ben's data is untouched, his delivery included.
        Assert.Equal(["ben's message", "ben's reply"], (await ReadAsync(ben)).Select(m => m.Content));
        Assert.NotNull(await Store.Conversations.GetConversationAsync(Tenant, ben.Id, CancellationToken.None));
        var delivery = Assert.Single(await Store.Outbox.ClaimDueAsync(10, TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.Equal("ben's reply", delivery.Message.Content);

        // A message for an erased conversation is refused, not stored; the customer coming back is a new contact.
        var late = await Assert.ThrowsAsync<ConversationNotFoundException>(() => Store.Messages.AppendAsync(Message(annWeb, "late", clientId: "a3"), CancellationToken.None).AsTask());
        Assert.Equal((Tenant, annWeb.Id), (late.TenantId, late.ConversationId));
        Assert.Empty(await ReadAsync(annWeb));
        var again = await NewConversationAsync(user: "ann", channel: "web");
        Assert.NotEqual(annWeb.Id, again.Id);
        Assert.Equal(1, (await Store.Messages.AppendAsync(Message(again, "hi again", clientId: "a1"), CancellationToken.None)).Message.Seq);

        // An unknown contact, or another tenant's, erases nothing.
        Assert.Equal(new ContactErasure(0, 0, 0, 0, 0), await Store.Eraser.EraseContactAsync(Tenant, ann.Id, CancellationToken.None));
        Assert.Equal(new ContactErasure(0, 0, 0, 0, 0), await Store.Eraser.EraseContactAsync("shop-2", again.ContactId, CancellationToken.None));
        Assert.NotNull(await Store.Conversations.GetConversationAsync(Tenant, again.Id, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.Eraser.EraseContactAsync("", ann.Id, CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task An_erasure_during_a_burst_of_appends_leaves_no_message_of_the_contact_behind()
    {
        var conversation = await NewConversationAsync(user: "burst", channel: "web");
        var stored = new ConcurrentBag<long>();
        var refused = 0;
        using var go = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 200 && !go.IsCancellationRequested; i++)
            {
                try
                {
                    stored.Add((await Store.Messages.AppendAsync(Message(conversation, $"w{w} m{i}", clientId: $"w{w}-{i}"), CancellationToken.None)).Message.Id);
                }
                catch (ConversationNotFoundException)
                {
                    Interlocked.Increment(ref refused);
                    return; // the conversation is gone
                }
            }
        })).ToArray();

        for (var waited = 0; stored.Count < 50 && waited < 300; waited++)
        {
            await Task.Delay(50); // until some appends are stored
        }

        var erased = await Store.Eraser.EraseContactAsync(Tenant, conversation.ContactId, CancellationToken.None);
        await Task.WhenAll(writers);

        // Every message acknowledged before the erasure's commit was erased with it; none was stored after it.
        Assert.True(erased.Messages >= 50, $"erased {erased.Messages}");
        Assert.Equal(stored.Count, erased.Messages);
        Assert.Empty(await ReadAsync(conversation, limit: 1000));
        Assert.True(refused > 0 || stored.Count == 8 * 200, "the writers still running were refused");
    }
}
