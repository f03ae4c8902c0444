using Chat.Plugins;
using Chat.Storage;

namespace Chat.Runtime.Tests.Messages;

/// <summary>
/// The contract records that carry personal data print it by length only, so a log line, an exception message or a
/// test failure that prints one shows its ids and not what a customer wrote, their name or their platform id.
/// </summary>
public sealed class PersonalDataFormattingTests
{
    private const string Content = "my phone is 13812345678";
    private const string Name = "Wang Xiaohong";
    private const string OpenId = "o9AgO5Kd5ggOC-bXrbNODIiE3bGY";

    private static readonly ChatMessage Message = new()
    {
        Id = 251957902963638272,
        TenantId = "shop-1",
        ConversationId = 42,
        Seq = 7,
        ChannelId = "wechat-miniprogram",
        Sender = new MessageSender(SenderKind.Customer, "1001") { DisplayName = Name },
        Content = Content,
        ClientMessageId = "client-1",
        PlatformMessageId = "wx-msg-1",
        Metadata = new Dictionary<string, string> { ["chat.cards"] = "[{\"receiver\":\"" + Name + "\"}]" },
    };

    public static TheoryData<string, object> Records => new()
    {
        { "ChatMessage { Id = 251957902963638272, TenantId = shop-1, ConversationId = 42, Seq = 7, ChannelId = wechat-miniprogram, Direction = Inbound, Sender = MessageSender { Kind = Customer, Id = 1001, DisplayName = (13 characters) }, Kind = Text, Content = (23 characters), ClientMessageId = client-1, PlatformMessageId = wx-msg-1, CreatedAt = 0001-01-01T00:00:00.0000000+00:00, PlatformTimestamp = , Metadata = (1 entries) }", Message },
        { "InboundMessage { TenantId = , PlatformUserId = (28 characters), PlatformMessageId = wx-msg-1, Kind = Text, Content = (23 characters), DisplayName = (13 characters), PlatformTimestamp = , Metadata = (0 entries) }",
            new InboundMessage { PlatformUserId = OpenId, PlatformMessageId = "wx-msg-1", Content = Content, DisplayName = Name } },
        { "Contact { Id = 1001, TenantId = shop-1, DisplayName = (13 characters), CreatedAt = 0001-01-01T00:00:00.0000000+00:00 }", new Contact { Id = 1001, TenantId = "shop-1", DisplayName = Name } },
        { "ChannelIdentity { ChannelId = wechat-miniprogram, PlatformUserId = (28 characters) }", new ChannelIdentity("wechat-miniprogram", OpenId) },
        { "MessageSender { Kind = Agent, Id = alice, DisplayName = null }", new MessageSender(SenderKind.Agent, "alice") },
    };

    [Theory]
    [MemberData(nameof(Records))]
    public void A_record_prints_its_ids_and_the_length_of_its_personal_data(string expected, object record) =>
        Assert.Equal(expected, record.ToString());

    [Fact]
    public void Records_that_hold_them_print_none_of_it_either()
    {
        var recipient = new ChannelIdentity("wechat-miniprogram", OpenId);
        var holders = new object[]
        {
            new OutboundDelivery { Message = Message, Recipient = recipient, InReplyTo = Message },
            new OutboxEntry(Message, recipient, 2),
            new AppendResult(Message, IsDuplicate: true),
            new CustomerContextQuery { TenantId = "shop-1", Customer = recipient, OrderNumber = "2026112012345" },
        };
        foreach (var text in holders.Select(h => h.ToString()!))
        {
            Assert.DoesNotContain(Content, text, StringComparison.Ordinal);
            Assert.DoesNotContain(Name, text, StringComparison.Ordinal);
            Assert.DoesNotContain(OpenId, text, StringComparison.Ordinal);
            Assert.Matches(@"(Content = \(23|PlatformUserId = \(28) characters\)", text);
        }
    }
}
