using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Chat.Plugins.Jushuitan;
using Chat.Plugins.Webhook;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Chat.Plugins.Tests.Infrastructure;

/// <summary>
/// The platforms the plugins call, on real Kestrel on loopback, speaking their documented protocols: WeChat's token and
/// custom/send, Douyin's client_token and im/send/msg, Jushuitan's signed order and logistics queries, and a generic
/// receiver that checks the signed-HTTP channel's signatures. Everything received is recorded; errors can be queued.
/// </summary>
public sealed class FakePlatform : IAsyncDisposable
{
    public const string WeChatAppId = "wx4f4bc4dec97d474b";
    public const string WeChatSecret = "wechat-app-secret";
    public const string DouyinClientKey = "abc";
    public const string DouyinClientSecret = "testsecret";
    public const string JstAppKey = "b0b7d1db226d4216a3d58df9ffa2dde5";
    public const string JstAppSecret = "99c4cef262f34ca882975a7064de0b87";
    public const string JstAccessToken = "b7e3b1e24e174593af8ca5c397e53dad";
    public const string GenericSecret = "generic-channel-secret-0123456789";

    private readonly WebApplication _app;
    private int _weChatTokens;
    private int _douyinTokens;
    private int _douyinMessages;

    private FakePlatform(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    // WeChat
    public ConcurrentQueue<JsonObject> WeChatSends { get; } = new();
    public ConcurrentQueue<int> WeChatSendErrors { get; } = new();
    public int WeChatTokenCalls => Volatile.Read(ref _weChatTokens);
    public string WeChatCurrentToken => $"wx-token-{WeChatTokenCalls}";
    public TimeSpan WeChatTokenDelay { get; set; }

    // Douyin
    public ConcurrentQueue<(string Token, string OpenId, JsonObject Body)> DouyinSends { get; } = new();
    public ConcurrentQueue<long> DouyinSendErrors { get; } = new();
    public int DouyinTokenCalls => Volatile.Read(ref _douyinTokens);

    // Jushuitan
    public ConcurrentQueue<(string Path, Dictionary<string, string> Form)> JstRequests { get; } = new();
    public ConcurrentDictionary<string, JsonObject> JstOrders { get; } = new();
    public ConcurrentDictionary<string, JsonObject> JstShipments { get; } = new();
    public TimeSpan JstDelay { get; set; }
    public bool JstDown { get; set; }

    // Generic signed-HTTP receiver
    public ConcurrentQueue<(Dictionary<string, string> Headers, byte[] Body)> GenericReceived { get; } = new();
    public ConcurrentQueue<int> GenericStatuses { get; } = new();

    public static async Task<FakePlatform> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var fake = new FakePlatform(app);
        fake.Map(app);
        await app.StartAsync();
        fake.BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");
        return fake;
    }

    public void AddOrder(string soId, string status, string? waybill = null, string? courier = null)
    {
        JstOrders[soId] = new JsonObject
        {
            ["so_id"] = soId,
            ["o_id"] = 9000 + JstOrders.Count,
            ["status"] = status,
            ["shop_status"] = "WAIT_BUYER_CONFIRM_GOODS",
            ["order_date"] = "2026-11-20 10:15:00",
            ["pay_amount"] = 199.5,
            ["l_id"] = waybill,
            ["items"] = new JsonArray(new JsonObject { ["sku_id"] = "SKU-1", ["name"] = "Wool scarf", ["qty"] = 2, ["price"] = 99.75 }),
        };
        if (waybill is not null)
        {
            JstShipments[soId] = new JsonObject { ["so_id"] = soId, ["l_id"] = waybill, ["logistics_company"] = courier, ["send_date"] = "2026-11-21 09:00:00", ["status"] = "Delivering" };
        }
    }

    private void Map(WebApplication app)
    {
        app.MapGet("/cgi-bin/token", async (HttpContext http) =>
        {
            await Task.Delay(WeChatTokenDelay);
            var q = http.Request.Query;
            if (q["grant_type"] != "client_credential" || q["appid"] != WeChatAppId || q["secret"] != WeChatSecret)
            {
                return Results.Json(new { errcode = 40013, errmsg = "invalid appid" });
            }

            var n = Interlocked.Increment(ref _weChatTokens);
            return Results.Json(new { access_token = $"wx-token-{n}", expires_in = 7200 });
        });
        app.MapPost("/cgi-bin/message/custom/send", async (HttpContext http) =>
        {
            var body = await JsonNode.ParseAsync(http.Request.Body) as JsonObject;
            if (http.Request.Query["access_token"] != WeChatCurrentToken)
            {
                return Results.Json(new { errcode = 40001, errmsg = "invalid credential, access_token is invalid or not latest" });
            }

            if (WeChatSendErrors.TryDequeue(out var error))
            {
                return Results.Json(new { errcode = error, errmsg = "queued error" });
            }

            WeChatSends.Enqueue(body!);
            return Results.Json(new { errcode = 0, errmsg = "ok" });
        });

        app.MapPost("/oauth/client_token/", async (HttpContext http) =>
        {
            var body = await JsonNode.ParseAsync(http.Request.Body);
            if (body?["client_key"]?.ToString() != DouyinClientKey || body["client_secret"]?.ToString() != DouyinClientSecret || body["grant_type"]?.ToString() != "client_credential")
            {
                return Results.Json(new { data = new { error_code = 10013, description = "bad client" }, message = "error" });
            }

            var n = Interlocked.Increment(ref _douyinTokens);
            return Results.Json(new { data = new { access_token = $"dy-token-{n}", expires_in = 7200, error_code = 0, description = "" }, message = "success" });
        });
        app.MapPost("/im/send/msg/", async (HttpContext http) =>
        {
            var body = (JsonObject)(await JsonNode.ParseAsync(http.Request.Body))!;
            var token = http.Request.Headers["access-token"].ToString();
            if (token != $"dy-token-{DouyinTokenCalls}")
            {
                return Results.Json(new { data = new { error_code = 28001008, description = "access_token expired" } });
            }

            if (DouyinSendErrors.TryDequeue(out var error))
            {
                return Results.Json(new { data = new { error_code = error, description = "queued error" } });
            }

            DouyinSends.Enqueue((token, http.Request.Query["open_id"].ToString(), body));
            return Results.Json(new { data = new { error_code = 0, description = "", msg_id = "dy-msg-" + Interlocked.Increment(ref _douyinMessages) } });
        });

        app.MapPost("/open/{**path}", async (HttpContext http, string path) =>
        {
            if (JstDown)
            {
                return Results.StatusCode(502);
            }

            await Task.Delay(JstDelay, http.RequestAborted);
            if (http.Request.ContentType?.StartsWith("application/x-www-form-urlencoded", StringComparison.Ordinal) != true)
            {
                return Results.Json(new { code = 1, msg = "content type must be form" });
            }

            var form = (await http.Request.ReadFormAsync()).ToDictionary(f => f.Key, f => f.Value.ToString(), StringComparer.Ordinal);
            JstRequests.Enqueue(("/open/" + path, form));
            if (form.Values.Any(string.IsNullOrEmpty) || !form.TryGetValue("sign", out var sign) || sign != JushuitanClient.Sign(JstAppSecret, form)
                || form.GetValueOrDefault("app_key") != JstAppKey || form.GetValueOrDefault("access_token") != JstAccessToken)
            {
                return Results.Json(new { code = 100, msg = "sign error" });
            }

            var biz = JsonNode.Parse(form["biz"])!;
            var ids = (biz["so_ids"] as JsonArray)?.Select(i => i!.ToString()).ToList();
            var source = path == "orders/single/query" ? JstOrders : JstShipments;
            var rows = source.Where(kv => ids is null || ids.Contains(kv.Key)).Select(kv => kv.Value.DeepClone()).ToArray();
            return Results.Json(new { code = 0, msg = "ok", data = new { orders = new JsonArray(rows), page_index = 1, has_next = false } });
        });

        app.MapPost("/generic/inbox", async (HttpContext http) =>
        {
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer);
            var body = buffer.ToArray();
            var headers = http.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            var timestamp = headers.GetValueOrDefault(WebhookChannel.TimestampHeader) ?? string.Empty;
            if (headers.GetValueOrDefault(WebhookChannel.SignatureHeader) != WebhookChannel.Sign(GenericSecret, timestamp, body))
            {
                return Results.Text("bad signature", statusCode: 401);
            }

            GenericReceived.Enqueue((headers, body));
            var status = GenericStatuses.TryDequeue(out var s) ? s : 200;
            if (status == 429)
            {
                http.Response.Headers.RetryAfter = "7";
            }

            return status == 200 ? Results.Json(new { id = "generic-" + GenericReceived.Count }) : Results.Text("queued status", statusCode: status);
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>An <see cref="IHttpClientFactory"/> for plugin classes built by hand in unit tests.</summary>
public sealed class TestHttpClientFactory : IHttpClientFactory
{
    private static readonly HttpMessageHandler Handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(1) };

    public HttpClient CreateClient(string name) => new(Handler, disposeHandler: false) { Timeout = TimeSpan.FromSeconds(30) };
}

public static class Bytes
{
    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
