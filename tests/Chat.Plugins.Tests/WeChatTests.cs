using System.Text;
using System.Text.Json.Nodes;
using Chat.Plugins.Tests.Infrastructure;
using Chat.Plugins.WeChatMiniProgram;
using Microsoft.Extensions.Options;

namespace Chat.Plugins.Tests;

/// <summary>Every vector of shared/protocols/wechat-miniprogram.md, the push handler's modes and bad input, and the sender against a fake WeChat.</summary>
public sealed class WeChatTests
{
    internal const string Key = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
    private const string V3Encrypt = "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=";
    private const string V4Encrypt = "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3";
    internal const string V5Encrypt = "9s4gMv99m88kKTh/H8IdkJkCCUHBi7i7PTvTKFSfiwEZusiREX43H7njxYLnZrykdUeBuEbPvm9PslPJxw3YyoWWlxlZpFUgy+rdG/L91T+X4C9gOZvF9qbmhDp9CnXjY+L333p2THS/SuxViKzHNWaJCMrCqv71/PJduud+blH+rHIPaNoq9HEey6ydo2tSgFzn8ayzC4No5O4W/92Uhl0nUmjR8Vqn5+1lTtU5V6SpRg4gE3T9Iyhm0e7tGwrCN5CAewfbE285g/7TL3PEPYKCrrsEnPaTAz23Z9n5zc0=";
    internal const string V5Plain = "{\"ToUserName\":\"gh_97417a04a28d\",\"FromUserName\":\"o9AgO5Kd5ggOC-bXrbNODIiE3bGY\",\"CreateTime\":1714037059,\"MsgType\":\"text\",\"Content\":\"你好\",\"MsgId\":24567890123456789}";
    private static readonly byte[] Random16 = Encoding.ASCII.GetBytes("1234567890123456");

    internal static WeChatMiniProgramOptions Options(string token = "AAAAA", string appId = FakePlatform.WeChatAppId, string? previous = null, Uri? api = null) => new()
    {
        AppId = appId,
        AppSecret = FakePlatform.WeChatSecret,
        Token = token,
        EncodingAesKey = Key,
        PreviousEncodingAesKey = previous,
        ApiBaseAddress = api ?? new Uri("http://127.0.0.1:9/"),
    };

    internal static WeChatWebhookHandler Handler(WeChatMiniProgramOptions? options = null) => new(Microsoft.Extensions.Options.Options.Create(options ?? Options()));

    internal static WebhookRequest Post(string body, params (string Key, string Value)[] query) => new()
    {
        Method = "POST",
        Path = "/chat/channels/wechat-miniprogram/webhook",
        Query = query.ToDictionary(q => q.Key, q => q.Value, StringComparer.Ordinal),
        Body = Encoding.UTF8.GetBytes(body),
    };

    /// <summary>A safe-mode push of <paramref name="plain"/>, encrypted and signed as WeChat would.</summary>
    internal static WebhookRequest SafeModePush(string plain, string appId = FakePlatform.WeChatAppId, string token = "AAAAA", string key = Key, bool xml = false)
    {
        var encrypt = WeChatCrypto.Encrypt(plain, WeChatCrypto.DecodeKey(key, "key"), appId);
        var (timestamp, nonce) = ("1714037059", "486452656");
        var body = xml
            ? $"<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
            : new JsonObject { ["ToUserName"] = "gh_97417a04a28d", ["Encrypt"] = encrypt }.ToJsonString();
        return Post(body, ("signature", WeChatCrypto.Signature(token, timestamp, nonce)), ("timestamp", timestamp), ("nonce", nonce),
            ("encrypt_type", "aes"), ("msg_signature", WeChatCrypto.Signature(token, timestamp, nonce, encrypt)));
    }

    [Theory]
    [InlineData("AAAAA", "1714036504", "1514711492", "f464b24fc39322e44b38aa78f5edd27bd1441696")] // V1
    [InlineData("AAAAA", "1714037059", "486452656", "899cf89e464efb63f54ddac96b0a0a235f53aa78")] // V2 (and V5's URL signature)
    public void Url_signature_vectors(string token, string timestamp, string nonce, string expected) =>
        Assert.Equal(expected, WeChatCrypto.Signature(token, timestamp, nonce));

    [Fact]
    public void V3_decrypts_the_xml_vector_after_its_msg_signature_checks()
    {
        Assert.Equal("74d92dfeb87ba7c714f89d98870ae5eb62dff26d", WeChatCrypto.Signature("123456", "1411525903", "461056294", V3Encrypt));
        var (message, appId) = WeChatCrypto.Decrypt(V3Encrypt, WeChatCrypto.DecodeKey(Key, "key"));
        Assert.Equal("wx49f0ab532d5d035a", appId);
        Assert.Equal(string.Join('\n',
            "<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName>",
            "<FromUserName><![CDATA[messense]]></FromUserName>",
            "<CreateTime>1411525903</CreateTime>",
            "<MsgType><![CDATA[text]]></MsgType>",
            "<Content><![CDATA[test]]></Content>",
            "<MsgId>4363689963896700987</MsgId>",
            "<AgentID>1</AgentID>",
            "</xml>"), message);
    }

    [Fact]
    public void V4_encrypts_deterministically_to_the_vector_and_its_msg_signature()
    {
        var message = string.Join('\n', "<xml>", "<MsgType><![CDATA[text]]></MsgType>", "<Content><![CDATA[test]]></Content>",
            "<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>", "<ToUserName><![CDATA[messense]]></ToUserName>",
            "<AgentID>1</AgentID>", "<CreateTime>1411525903</CreateTime>", "</xml>");
        var encrypt = WeChatCrypto.Encrypt(message, WeChatCrypto.DecodeKey(Key, "key"), "wx49f0ab532d5d035a", Random16);
        Assert.Equal(V4Encrypt, encrypt);
        Assert.Equal("407518b7649e86ef23978113f92d27afa9296533", WeChatCrypto.Signature("123456", "1411525903", "461056294", encrypt));
        Assert.Equal((message, "wx49f0ab532d5d035a"), WeChatCrypto.Decrypt(encrypt, WeChatCrypto.DecodeKey(Key, "key")));
    }

    [Fact]
    public void V5_json_safe_mode_with_chinese_text_encrypts_and_signs_to_the_vector()
    {
        Assert.Equal(164, Encoding.UTF8.GetByteCount(V5Plain));
        var encrypt = WeChatCrypto.Encrypt(V5Plain, WeChatCrypto.DecodeKey(Key, "key"), FakePlatform.WeChatAppId, Random16);
        Assert.Equal(V5Encrypt, encrypt);
        Assert.Equal("0665e3aae7e6dd1b940d3ef6c99defbd4e49a093", WeChatCrypto.Signature("AAAAA", "1714037059", "486452656", encrypt));
    }

    [Fact]
    public async Task V5_push_through_the_handler_becomes_one_text_message_keyed_by_MsgId()
    {
        var body = new JsonObject { ["ToUserName"] = "gh_97417a04a28d", ["Encrypt"] = V5Encrypt }.ToJsonString();
        var result = await Handler().HandleAsync(Post(body, ("signature", "899cf89e464efb63f54ddac96b0a0a235f53aa78"), ("timestamp", "1714037059"),
            ("nonce", "486452656"), ("encrypt_type", "aes"), ("msg_signature", "0665e3aae7e6dd1b940d3ef6c99defbd4e49a093")), default);
        Assert.Equal(200, result.Response.StatusCode);
        Assert.Equal("success", Encoding.UTF8.GetString(result.Response.Body.Span));
        var message = Assert.Single(result.Messages);
        Assert.Equal(("o9AgO5Kd5ggOC-bXrbNODIiE3bGY", "24567890123456789", MessageKind.Text, "你好"), (message.PlatformUserId, message.PlatformMessageId, message.Kind, message.Content));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1714037059), message.PlatformTimestamp);
    }

    [Fact]
    public async Task Url_verification_echoes_echostr_only_with_a_good_signature()
    {
        var good = new WebhookRequest
        {
            Method = "GET",
            Path = "/",
            Query = new Dictionary<string, string> { ["signature"] = "f464b24fc39322e44b38aa78f5edd27bd1441696", ["timestamp"] = "1714036504", ["nonce"] = "1514711492", ["echostr"] = "echo-123" },
        };
        var ok = await Handler().HandleAsync(good, default);
        Assert.Equal((200, "echo-123"), (ok.Response.StatusCode, Encoding.UTF8.GetString(ok.Response.Body.Span)));

        var bad = new WebhookRequest { Method = "GET", Path = "/", Query = new Dictionary<string, string>(good.Query) { ["signature"] = "f464b24fc39322e44b38aa78f5edd27bd1441697" } };
        var refused = await Handler().HandleAsync(bad, default);
        Assert.Equal(401, refused.Response.StatusCode);
        Assert.Empty(refused.Messages);
    }

    [Fact]
    public async Task Plain_mode_xml_and_json_pushes_are_verified_by_the_url_signature()
    {
        var query = new[] { ("signature", "899cf89e464efb63f54ddac96b0a0a235f53aa78"), ("timestamp", "1714037059"), ("nonce", "486452656") };
        var xml = "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[openid-1]]></FromUserName><CreateTime>1714037059</CreateTime><MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[https://mmbiz.example/pic.jpg]]></PicUrl><MediaId><![CDATA[media-1]]></MediaId><MsgId>77</MsgId></xml>";
        var image = Assert.Single((await Handler().HandleAsync(Post(xml, query), default)).Messages);
        Assert.Equal((MessageKind.Image, "https://mmbiz.example/pic.jpg", "77", "media-1"), (image.Kind, image.Content, image.PlatformMessageId, image.Metadata["wechat.media_id"]));

        var card = "{\"ToUserName\":\"gh_1\",\"FromUserName\":\"openid-1\",\"CreateTime\":1714037060,\"MsgType\":\"miniprogrampage\",\"Title\":\"Scarf\",\"AppId\":\"wx1\",\"PagePath\":\"pages/item?id=1\",\"ThumbUrl\":\"https://t.example/1.jpg\",\"ThumbMediaId\":\"thumb-1\",\"MsgId\":78}";
        var page = Assert.Single((await Handler().HandleAsync(Post(card, [.. query, ("encrypt_type", "raw")]), default)).Messages);
        Assert.Equal(MessageKind.Card, page.Kind);
        Assert.Equal("pages/item?id=1", JsonNode.Parse(page.Content)!["pagePath"]!.ToString());

        var unsigned = await Handler().HandleAsync(Post(card), default);
        Assert.Equal(401, unsigned.Response.StatusCode);
    }

    [Fact]
    public async Task Session_entry_events_are_keyed_by_sender_and_create_time()
    {
        var push = SafeModePush("{\"ToUserName\":\"gh_1\",\"FromUserName\":\"openid-2\",\"CreateTime\":1714037100,\"MsgType\":\"event\",\"Event\":\"user_enter_tempsession\",\"SessionFrom\":\"product-page\"}");
        var message = Assert.Single((await Handler().HandleAsync(push, default)).Messages);
        Assert.Equal((MessageKind.Event, "event:openid-2:1714037100"), (message.Kind, message.PlatformMessageId));
        Assert.Equal("product-page", JsonNode.Parse(message.Content)!["sessionFrom"]!.ToString());
    }

    [Fact]
    public async Task Compatible_mode_uses_the_decrypted_fields_not_the_plaintext_copy()
    {
        var encrypt = WeChatCrypto.Encrypt(V5Plain, WeChatCrypto.DecodeKey(Key, "key"), FakePlatform.WeChatAppId);
        var body = new JsonObject { ["ToUserName"] = "gh_97417a04a28d", ["FromUserName"] = "forged", ["MsgType"] = "text", ["Content"] = "forged", ["MsgId"] = 1, ["CreateTime"] = 1, ["Encrypt"] = encrypt }.ToJsonString();
        var result = await Handler().HandleAsync(Post(body, ("timestamp", "1"), ("nonce", "2"), ("encrypt_type", "aes"), ("msg_signature", WeChatCrypto.Signature("AAAAA", "1", "2", encrypt))), default);
        var message = Assert.Single(result.Messages);
        Assert.Equal(("o9AgO5Kd5ggOC-bXrbNODIiE3bGY", "你好"), (message.PlatformUserId, message.Content));
    }

    [Fact]
    public async Task Safe_mode_xml_push_is_decrypted()
    {
        var plain = "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[openid-3]]></FromUserName><CreateTime>1714037059</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[在吗 <tag> & more]]></Content><MsgId>99</MsgId></xml>";
        var message = Assert.Single((await Handler().HandleAsync(SafeModePush(plain, xml: true), default)).Messages);
        Assert.Equal("在吗 <tag> & more", message.Content);
    }

    [Fact]
    public async Task The_previous_key_still_decrypts_during_a_rotation()
    {
        const string newKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
        var options = Options(previous: Key);
        options.EncodingAesKey = newKey;
        var oldKeyPush = SafeModePush(V5Plain);
        Assert.Single((await Handler(options).HandleAsync(oldKeyPush, default)).Messages);
        Assert.Single((await Handler(options).HandleAsync(SafeModePush(V5Plain, key: newKey), default)).Messages);

        options.PreviousEncodingAesKey = null; // rotation over: the old key no longer decrypts
        var refused = await Handler(options).HandleAsync(oldKeyPush, default);
        Assert.Equal(400, refused.Response.StatusCode);
        Assert.Empty(refused.Messages);
    }

    [Fact]
    public async Task Bad_input_is_refused_with_a_reason_and_nothing_taken()
    {
        var cases = new (WebhookRequest Request, int Status, string Reason)[]
        {
            (SafeModePush(V5Plain, appId: "wx0000000000000000"), 400, "AppID"),
            (WithQuery(SafeModePush(V5Plain), "msg_signature", "0665e3aae7e6dd1b940d3ef6c99defbd4e49a094"), 401, "msg_signature"),
            (WithQuery(SafeModePush(V5Plain), "msg_signature", null), 401, "msg_signature"),
            (SignedEnvelope("AAAA"), 400, "blocks"),
            (SignedEnvelope("not base64!"), 400, "base64"),
            (SignedEnvelope(Convert.ToBase64String(new byte[64])), 400, "padding"),
            (SafeModePush("{\"FromUserName\":\"u\",\"CreateTime\":1,\"MsgType\":\"voice\",\"MsgId\":1}"), 400, "voice"),
            (SafeModePush("{\"FromUserName\":\"u\",\"CreateTime\":1,\"MsgType\":\"event\",\"Event\":\"subscribe\"}"), 400, "subscribe"),
            (SafeModePush("{\"FromUserName\":\"u\",\"CreateTime\":1,\"MsgType\":\"text\",\"Content\":\"no id\"}"), 400, "MsgId"),
            (SafeModePush("{\"FromUserName\":\"u\",\"CreateTime\":\"soon\",\"MsgType\":\"text\",\"Content\":\"x\",\"MsgId\":1}"), 400, "CreateTime"),
            (SafeModePush("{not json"), 400, "JSON"),
            (SafeModePush("<xml><a>1</b></xml>"), 400, "XML"),
            (SafeModePush("<!DOCTYPE xml [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><xml><Content>&x;</Content></xml>"), 400, "XML"),
            (Post("{}", ("encrypt_type", "rsa")), 400, "encrypt_type"),
        };
        await Refusals.AssertAsync(() => Handler(), cases);

        static WebhookRequest WithQuery(WebhookRequest request, string key, string? value)
        {
            var query = new Dictionary<string, string>(request.Query);
            if (value is null)
            {
                query.Remove(key);
            }
            else
            {
                query[key] = value;
            }

            return new WebhookRequest { Method = request.Method, Path = request.Path, Query = query, Body = request.Body };
        }

        static WebhookRequest SignedEnvelope(string encrypt) =>
            Post(new JsonObject { ["Encrypt"] = encrypt }.ToJsonString(), ("timestamp", "1"), ("nonce", "2"), ("encrypt_type", "aes"),
                ("msg_signature", WeChatCrypto.Signature("AAAAA", "1", "2", encrypt)));
    }

    [Fact]
    public void Misconfiguration_names_the_setting()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Handler(new WeChatMiniProgramOptions { AppId = "wx1", AppSecret = "s", Token = "t", EncodingAesKey = "short" }));
        Assert.Contains("EncodingAesKey", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Token", Assert.Throws<InvalidOperationException>(() => Handler(new WeChatMiniProgramOptions { AppId = "wx1", AppSecret = "s" })).Message, StringComparison.Ordinal);
    }

    private static (WeChatSender Sender, WeChatApi Api) Sender(FakePlatform fake)
    {
        var options = Microsoft.Extensions.Options.Options.Create(Options(api: fake.BaseAddress));
        var api = new WeChatApi(options, new TestHttpClientFactory(), TimeProvider.System);
        return (new WeChatSender(options, api), api);
    }

    internal static OutboundDelivery Delivery(string content, MessageKind kind = MessageKind.Text, string user = "openid-9") => new()
    {
        Message = new ChatMessage { Id = 1, TenantId = "default", ChannelId = "wechat-miniprogram", Sender = new MessageSender(SenderKind.Agent, "agent-1"), Kind = kind, Content = content, Direction = MessageDirection.Outbound },
        Recipient = new ChannelIdentity("wechat-miniprogram", user),
    };

    [Fact]
    public async Task Sender_posts_custom_send_bodies_and_reuses_one_token()
    {
        await using var fake = await FakePlatform.StartAsync();
        var (sender, _) = Sender(fake);
        Assert.Equal(DeliveryStatus.Sent, (await sender.SendAsync(Delivery("您好，已发货"), default)).Status);
        Assert.Equal(DeliveryStatus.Sent, (await sender.SendAsync(Delivery("media-123", MessageKind.Image), default)).Status);
        Assert.Equal(DeliveryStatus.Sent, (await sender.SendAsync(Delivery("{\"msgtype\":\"link\",\"link\":{\"title\":\"Order\",\"description\":\"d\",\"url\":\"https://shop.example/o/1\",\"thumb_url\":\"https://shop.example/t.jpg\"}}", MessageKind.Card), default)).Status);
        Assert.Equal(DeliveryStatus.Sent, (await sender.SendAsync(Delivery("{\"msgtype\":\"miniprogrampage\",\"miniprogrampage\":{\"title\":\"Item\",\"pagepath\":\"pages/i\",\"thumb_media_id\":\"m\"}}", MessageKind.Card), default)).Status);
        Assert.Equal(1, fake.WeChatTokenCalls);

        var sends = fake.WeChatSends.ToArray();
        Assert.Equal("{\"touser\":\"openid-9\",\"msgtype\":\"text\",\"text\":{\"content\":\"您好，已发货\"}}", sends[0].ToJsonString(new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
        Assert.Equal("{\"touser\":\"openid-9\",\"msgtype\":\"image\",\"image\":{\"media_id\":\"media-123\"}}", sends[1].ToJsonString());
        Assert.Equal("https://shop.example/o/1", sends[2]["link"]!["url"]!.ToString());
        Assert.Equal("pages/i", sends[3]["miniprogrampage"]!["pagepath"]!.ToString());
    }

    [Fact]
    public async Task Sender_refreshes_an_expired_token_once_and_retries()
    {
        await using var fake = await FakePlatform.StartAsync();
        var (sender, _) = Sender(fake);
        Assert.Equal(DeliveryStatus.Sent, (await sender.SendAsync(Delivery("one"), default)).Status);
        fake.WeChatSendErrors.Enqueue(42001);
        Assert.Equal(DeliveryStatus.Sent, (await sender.SendAsync(Delivery("two"), default)).Status);
        Assert.Equal(2, fake.WeChatTokenCalls);
        Assert.Equal(["one", "two"], fake.WeChatSends.Select(s => s["text"]!["content"]!.ToString()));

        fake.WeChatSendErrors.Enqueue(40001);
        fake.WeChatSendErrors.Enqueue(40001);
        var twice = await sender.SendAsync(Delivery("three"), default);
        Assert.Equal(DeliveryStatus.Retry, twice.Status); // refreshed once only, then left to the outbox's backoff
        Assert.Equal(3, fake.WeChatTokenCalls);
    }

    [Theory]
    [InlineData(45015, DeliveryStatus.Failed, "48-hour")]
    [InlineData(45047, DeliveryStatus.Failed, "quota")]
    [InlineData(48001, DeliveryStatus.Failed, "not authorised")]
    [InlineData(-1, DeliveryStatus.Retry, "busy")]
    [InlineData(40003, DeliveryStatus.Failed, "40003")]
    public async Task Sender_maps_platform_errors_to_what_the_agent_sees(int errcode, DeliveryStatus status, string reason)
    {
        await using var fake = await FakePlatform.StartAsync();
        var (sender, _) = Sender(fake);
        fake.WeChatSendErrors.Enqueue(errcode);
        var result = await sender.SendAsync(Delivery("hi"), default);
        Assert.Equal(status, result.Status);
        Assert.Contains(reason, result.Reason, StringComparison.Ordinal);
        Assert.Empty(fake.WeChatSends);
    }

    [Fact]
    public async Task Sender_refuses_what_WeChat_cannot_carry_and_retries_network_errors()
    {
        await using var fake = await FakePlatform.StartAsync();
        var (sender, _) = Sender(fake);
        Assert.Equal(DeliveryStatus.Failed, (await sender.SendAsync(Delivery("https://img.example/a.jpg", MessageKind.Image), default)).Status);
        Assert.Equal(DeliveryStatus.Failed, (await sender.SendAsync(Delivery("{\"msgtype\":\"music\"}", MessageKind.Card), default)).Status);
        Assert.Equal(DeliveryStatus.Failed, (await sender.SendAsync(Delivery("file", MessageKind.File), default)).Status);

        var options = Microsoft.Extensions.Options.Options.Create(Options(api: new Uri("http://127.0.0.1:1/")));
        var unreachable = await new WeChatSender(options, new WeChatApi(options, new TestHttpClientFactory(), TimeProvider.System)).SendAsync(Delivery("hi"), default);
        Assert.Equal(DeliveryStatus.Retry, unreachable.Status);
    }

    [Fact]
    public async Task Concurrent_sends_fetch_the_token_once()
    {
        await using var fake = await FakePlatform.StartAsync();
        fake.WeChatTokenDelay = TimeSpan.FromMilliseconds(200);
        var (sender, _) = Sender(fake);
        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => sender.SendAsync(Delivery("m" + i), default).AsTask()));
        Assert.All(results, r => Assert.Equal(DeliveryStatus.Sent, r.Status));
        Assert.Equal(1, fake.WeChatTokenCalls);
        Assert.Equal(50, fake.WeChatSends.Count);
    }
}
