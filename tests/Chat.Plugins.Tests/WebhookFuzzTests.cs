using System.Text;
using System.Text.Json.Nodes;
using Chat.Plugins.Douyin;
using Chat.Plugins.Tests.Infrastructure;
using Chat.Plugins.WeChatMiniProgram;

namespace Chat.Plugins.Tests;

/// <summary>
/// Fuzzes every webhook parser: random bytes and mutations of valid pushes, each correctly signed (and, for WeChat's safe
/// mode, correctly encrypted) so that the input gets past the signature check into the parser. No input may throw;
/// every answer is 200 with well-formed messages, or 400/401 with a reason and no messages. Seeded, so a failure repeats.
/// </summary>
public sealed class WebhookFuzzTests
{
    private const int Iterations = 3000;
    private static readonly string[] Tokens =
        ["{", "}", "[", "]", "\"", ":", ",", "<", ">", "</xml>", "<![CDATA[", "]]>", "\\u0000", "\\", "null", "true", "-1", "1e309",
         "99999999999999999999999", "\u00ff", "你", "&amp;", "&#0;", "<!DOCTYPE x>", "\"content\":", "\"event\":\"im_receive_msg\"", "\r\n"];

    [Fact]
    public async Task WeChat_plain_mode_parser_survives_random_and_mutated_pushes()
    {
        var handler = WeChatTests.Handler();
        var seeds = new[]
        {
            WeChatTests.V5Plain,
            "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[u]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content><MsgId>1</MsgId></xml>",
            "{\"FromUserName\":\"u\",\"CreateTime\":1,\"MsgType\":\"event\",\"Event\":\"user_enter_tempsession\",\"SessionFrom\":\"x\"}",
        };
        await FuzzAsync(1, seeds, body => handler.HandleAsync(new WebhookRequest
        {
            Method = "POST",
            Path = "/",
            Query = new Dictionary<string, string> { ["signature"] = WeChatCrypto.Signature("AAAAA", "1", "2"), ["timestamp"] = "1", ["nonce"] = "2" },
            Body = body,
        }, default));
    }

    [Fact]
    public async Task WeChat_safe_mode_decryption_and_inner_parser_survive_random_ciphertexts_and_plaintexts()
    {
        var handler = WeChatTests.Handler();
        var key = WeChatCrypto.DecodeKey(WeChatTests.Key, "key");
        var random = new Random(2);
        // Random ciphertexts: past the signature, into base64, AES and the padding and length checks.
        await FuzzAsync(3, [WeChatTests.V5Encrypt], body => Envelope(Encoding.UTF8.GetString(body)));
        // Random plaintexts, properly encrypted: past decryption, into the inner JSON/XML parser.
        await FuzzAsync(4, [WeChatTests.V5Plain, "<xml><MsgType>text</MsgType></xml>"],
            body => Envelope(WeChatCrypto.Encrypt(Encoding.UTF8.GetString(body), key, FakePlatform.WeChatAppId)));
        // Envelopes themselves mutated (JSON and XML), signed over whatever Encrypt they end up with.
        await FuzzAsync(5, [new JsonObject { ["Encrypt"] = WeChatTests.V5Encrypt }.ToJsonString(), $"<xml><Encrypt><![CDATA[{WeChatTests.V5Encrypt}]]></Encrypt></xml>"],
            body => handler.HandleAsync(new WebhookRequest
            {
                Method = "POST",
                Path = "/",
                Query = new Dictionary<string, string> { ["timestamp"] = "1", ["nonce"] = "2", ["encrypt_type"] = "aes", ["msg_signature"] = random.Next(2) == 0 ? "x" : WeChatCrypto.Signature("AAAAA", "1", "2", WeChatTests.V5Encrypt) },
                Body = body,
            }, default));

        ValueTask<WebhookResult> Envelope(string encrypt) => handler.HandleAsync(new WebhookRequest
        {
            Method = "POST",
            Path = "/",
            Query = new Dictionary<string, string> { ["timestamp"] = "1", ["nonce"] = "2", ["encrypt_type"] = "aes", ["msg_signature"] = WeChatCrypto.Signature("AAAAA", "1", "2", encrypt) },
            Body = Encoding.UTF8.GetBytes(new JsonObject { ["Encrypt"] = encrypt }.ToJsonString()),
        }, default);
    }

    [Fact]
    public async Task Douyin_parser_survives_random_and_mutated_pushes()
    {
        var handler = DouyinTests.Handler();
        var seeds = new[]
        {
            DouyinTests.Receive("hi"),
            DouyinTests.Receive("hi", contentAsString: true),
            "{\"event\":\"verify_webhook\",\"client_key\":\"abc\",\"content\":{\"challenge\":12345}}",
            "{\"event\":\"im_recall_msg\",\"client_key\":\"abc\",\"from_user_id\":\"c1\",\"content\":{\"server_message_id\":\"s\"}}",
        };
        await FuzzAsync(6, seeds, body => handler.HandleAsync(new WebhookRequest
        {
            Method = "POST",
            Path = "/",
            Headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
            {
                ["X-Douyin-Signature"] = DouyinWebhookHandler.Sign(FakePlatform.DouyinClientSecret, body),
                ["Msg-Id"] = "fuzz",
            },
            Body = body,
        }, default));
    }

    [Fact]
    public async Task Generic_channel_parser_survives_random_and_mutated_pushes()
    {
        var channel = WebhookChannelTests.Channel();
        var seeds = new[] { "{\"id\":\"m-1\",\"userId\":\"u-1\",\"userName\":\"Ann\",\"kind\":\"image\",\"content\":\"x\",\"timestamp\":\"2026-11-26T11:59:00Z\",\"metadata\":{\"a\":\"b\"}}" };
        await FuzzAsync(7, seeds, body =>
        {
            var signed = WebhookChannelTests.Signed("x");
            var timestamp = signed.Headers[Webhook.WebhookChannel.TimestampHeader];
            return channel.HandleAsync(new WebhookRequest
            {
                Method = "POST",
                Path = "/",
                Headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
                {
                    [Webhook.WebhookChannel.TimestampHeader] = timestamp,
                    [Webhook.WebhookChannel.SignatureHeader] = Webhook.WebhookChannel.Sign(FakePlatform.GenericSecret, timestamp, body),
                },
                Body = body,
            }, default);
        });
    }

    private static async Task FuzzAsync(int seed, string[] seeds, Func<byte[], ValueTask<WebhookResult>> handle)
    {
        var random = new Random(seed);
        var statuses = new Dictionary<int, int>();
        for (var i = 0; i < Iterations; i++)
        {
            var body = random.Next(5) == 0 ? RandomBytes(random) : Mutate(random, Encoding.UTF8.GetBytes(seeds[random.Next(seeds.Length)]));
            WebhookResult result;
            try
            {
                result = await handle(body);
            }
            catch (Exception ex)
            {
                throw new InvalidOperationException($"seed {seed}, iteration {i}: the handler threw on {Convert.ToBase64String(body)}", ex);
            }

            var status = result.Response.StatusCode;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            Assert.True(status is 200 or 400 or 401, $"seed {seed}, iteration {i}: status {status}");
            if (status == 200)
            {
                Assert.All(result.Messages, m => Assert.False(string.IsNullOrEmpty(m.PlatformMessageId) || string.IsNullOrEmpty(m.PlatformUserId)));
            }
            else
            {
                Assert.Empty(result.Messages);
                Assert.False(result.Response.Body.IsEmpty, "a refusal gives its reason");
            }
        }

        // The fuzzing reached the parser: some inputs were refused as malformed, some were still accepted.
        Assert.True(statuses.GetValueOrDefault(400) > 0, $"seed {seed}: no input reached the parser's refusals");
    }

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(0, 512)];
        random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Mutate(Random random, byte[] seed)
    {
        var bytes = new List<byte>(seed);
        var edits = random.Next(1, 6);
        for (var e = 0; e < edits && bytes.Count > 0; e++)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(5))
            {
                case 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    bytes.RemoveRange(at, Math.Min(bytes.Count - at, random.Next(1, 16)));
                    break;
                case 2:
                    bytes.InsertRange(at, Encoding.UTF8.GetBytes(Tokens[random.Next(Tokens.Length)]));
                    break;
                case 3:
                    bytes.RemoveRange(at, bytes.Count - at); // truncated
                    break;
                default:
                    var from = random.Next(bytes.Count);
                    bytes.InsertRange(at, bytes.GetRange(from, Math.Min(bytes.Count - from, random.Next(1, 32))));
                    break;
            }
        }

        return bytes.ToArray();
    }
}
