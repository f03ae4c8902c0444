using System.Collections.Concurrent;

namespace Chat.Storage.Tests.Conformance;

/// <summary>Erasing a customer's data on request: everything of the contact goes, nothing of anyone else's.</summary>
public abstract partial class StoreConformanceTests
{
    /// <summary>Moves every contact's, conversation's and message's times back, as if they had been written that long ago.</summary>
    internal abstract Task AgeAsync(TimeSpan by);

    [Fact]
    public async Task Retention_erases_the_messages_stored_before_a_time_a_page_at_a_time_and_their_conversations_go_on()
    {
        // Three days ago Ann wrote twice and was answered (a delivery); Ben wrote once.
        var ann = await NewConversationAsync(user: "ann", channel: "web");
        await Store.Messages.AppendAsync(Message(ann, "my phone is 13800000000", clientId: "a1"), CancellationToken.None);
        await Store.Messages.AppendAsync(Message(ann, "and my address", clientId: "a2"), CancellationToken.None);
        await Store.Messages.AppendAsync(Reply(ann, "we will call you", deliver: true), CancellationToken.None);
        var ben = await NewConversationAsync(user: "ben", channel: "web");
        await Store.Messages.AppendAsync(Message(ben, "ben's old message", clientId: "b1"), CancellationToken.None);
        await AgeAsync(TimeSpan.FromDays(3));
        // Ann writes again today.
        await Store.Messages.AppendAsync(Message(ann, "today's message", clientId: "a3"), CancellationToken.None);
        var createdBefore = DateTimeOffset.UtcNow.AddDays(-1);

        // A page of three, then the last old one, then nothing: the four old messages and the one delivery, once.
        var pages = new List<ContactErasure>();
        do
        {
            pages.Add(await Store.Eraser.EraseMessagesCreatedBeforeAsync(createdBefore, 3, CancellationToken.None));
        }
        while (pages[^1].Messages > 0);
        Assert.Equal([3, 1, 0], pages.Select(p => p.Messages));
        Assert.Equal(1, pages.Sum(p => p.Deliveries));
        Assert.All(pages, p => Assert.Equal((0, 0, 0), (p.Contacts, p.ChannelIdentities, p.Conversations)));

        // The conversations, their contacts and today's message stay, and seqs go on from where they were.
        var annNow = Assert.Single(await ReadAsync(ann));
        Assert.Equal(("today's message", 4L), (annNow.Content, annNow.Seq));
        Assert.Empty(await ReadAsync(ben));
        Assert.NotNull(await Store.Conversations.FindContactAsync(Tenant, new ChannelIdentity("web", "ben"), CancellationToken.None));
        Assert.Equal(2, (await Store.Messages.AppendAsync(Message(ben, "ben again", clientId: "b2"), CancellationToken.None)).Message.Seq);
        Assert.Empty(await Store.Outbox.ClaimDueAsync(10, TimeSpan.FromMinutes(1), CancellationToken.None));

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.Eraser.EraseMessagesCreatedBeforeAsync(createdBefore, 0, CancellationToken.None).AsTask());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.Eraser.EraseMessagesCreatedBeforeAsync(createdBefore, 10_001, CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task Retention_erases_the_contacts_inactive_since_a_time_and_keeps_those_who_wrote_since()
    {
        // Ann (two conversations, a delivery), Ben, Dan and Cat (a contact without a conversation) three days ago.
        var annWeb = await NewConversationAsync(user: "ann", channel: "web");
        var annWeChat = await Store.Conversations.GetOrCreateConversationAsync(Tenant, annWeb.ContactId, "wechat", CancellationToken.None);
        await Store.Messages.AppendAsync(Message(annWeb, "my phone is 13800000000", clientId: "a1"), CancellationToken.None);
        await Store.Messages.AppendAsync(Reply(annWeChat, "we will call you", deliver: true), CancellationToken.None);
        var ben = await NewConversationAsync(user: "ben", channel: "web");
        await Store.Messages.AppendAsync(Message(ben, "ben's first", clientId: "b1"), CancellationToken.None);
        var dan = await NewConversationAsync(user: "dan", channel: "web");
        var cat = await Store.Conversations.ResolveContactAsync(Tenant, new ChannelIdentity("web", "cat"), "Cat", CancellationToken.None);
        await AgeAsync(TimeSpan.FromDays(3));

        // Ben writes again today; Eve is new today.
        await Store.Messages.AppendAsync(Message(ben, "ben's second", clientId: "b2"), CancellationToken.None);
        var eve = await NewConversationAsync(user: "eve", channel: "web");
        var inactiveBefore = DateTimeOffset.UtcNow.AddDays(-1);

        var found = await Store.Eraser.FindInactiveContactsAsync(inactiveBefore, null, 100, CancellationToken.None);
        Assert.Equal(new[] { annWeb.ContactId, cat.Id, dan.ContactId }.Order(), found.Select(c => c.ContactId).Order());
        Assert.All(found, c => Assert.Equal(Tenant, c.TenantId));
        var firstPage = await Store.Eraser.FindInactiveContactsAsync(inactiveBefore, null, 2, CancellationToken.None);
        Assert.Equal(found.Take(2), firstPage);
        Assert.Equal(found.Skip(2), await Store.Eraser.FindInactiveContactsAsync(inactiveBefore, firstPage[^1], 2, CancellationToken.None));

        // Dan writes between the listing and his erasure: he is kept, with his message.
        await Store.Messages.AppendAsync(Message(dan, "still here", clientId: "d1"), CancellationToken.None);
        Assert.Equal(ContactErasure.None, await Store.Eraser.EraseInactiveContactAsync(Tenant, dan.ContactId, inactiveBefore, CancellationToken.None));
        Assert.Single(await ReadAsync(dan));

        Assert.Equal(new ContactErasure(Contacts: 1, ChannelIdentities: 1, Conversations: 2, Messages: 2, Deliveries: 1),
            await Store.Eraser.EraseInactiveContactAsync(Tenant, annWeb.ContactId, inactiveBefore, CancellationToken.None));
        Assert.Equal(new ContactErasure(1, 1, 0, 0, 0), await Store.Eraser.EraseInactiveContactAsync(Tenant, cat.Id, inactiveBefore, CancellationToken.None));
        Assert.Equal(ContactErasure.None, await Store.Eraser.EraseInactiveContactAsync(Tenant, eve.ContactId, inactiveBefore, CancellationToken.None));
        Assert.Empty(await Store.Eraser.FindInactiveContactsAsync(inactiveBefore, null, 100, CancellationToken.None));

        Assert.Null(await Store.Conversations.GetConversationAsync(Tenant, annWeChat.Id, CancellationToken.None));
        Assert.Null(await Store.Conversations.FindContactAsync(Tenant, new ChannelIdentity("web", "cat"), CancellationToken.None));
        Assert.Equal(["ben's first", "ben's second"], (await ReadAsync(ben)).Select(m => m.Content));
        Assert.NotNull(await Store.Conversations.GetConversationAsync(Tenant, eve.Id, CancellationToken.None));
        Assert.Empty(await Store.Outbox.ClaimDueAsync(10, TimeSpan.FromMinutes(1), CancellationToken.None));

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.Eraser.FindInactiveContactsAsync(inactiveBefore, null, 0, CancellationToken.None).AsTask());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.Eraser.FindInactiveContactsAsync(inactiveBefore, null, 1001, CancellationToken.None).AsTask());
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.Eraser.EraseInactiveContactAsync(" ", ben.ContactId, inactiveBefore, CancellationToken.None).AsTask());
    }

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
