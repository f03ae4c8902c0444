using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chat.Plugins.Shared;
using Microsoft.Extensions.Options;

namespace Chat.Plugins.Jushuitan;

/// <summary>A non-zero <c>code</c> from the Jushuitan API.</summary>
internal sealed class JushuitanApiException(long code, string? message) : Exception($"code {code}: {message}")
{
    public long Code { get; } = code;
}

/// <summary>Signed form posts to the Jushuitan open API.</summary>
internal sealed class JushuitanClient(IOptions<JushuitanOptions> options, IHttpClientFactory http, TimeProvider time)
{
    /// <summary>
    /// <c>lowercase_hex(MD5(app_secret + concat(key + value, sorted by key ordinally)))</c> over every parameter
    /// except <c>sign</c>; empty values are never sent, so never signed.
    /// </summary>
    public static string Sign(string appSecret, IEnumerable<KeyValuePair<string, string>> parameters)
    {
        var text = new StringBuilder(appSecret);
        foreach (var (key, value) in parameters.Where(static p => p.Key != "sign" && !string.IsNullOrEmpty(p.Value)).OrderBy(static p => p.Key, StringComparer.Ordinal))
        {
            text.Append(key).Append(value);
        }

        return Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>The signed form for one call (the exact <paramref name="biz"/> string is what is signed and sent).</summary>
    public static List<KeyValuePair<string, string>> Form(JushuitanOptions o, string biz, long timestamp)
    {
        var form = new List<KeyValuePair<string, string>>
        {
            new("app_key", o.AppKey),
            new("access_token", o.AccessToken),
            new("timestamp", timestamp.ToString(CultureInfo.InvariantCulture)),
            new("charset", "utf-8"),
            new("version", "2"),
            new("biz", biz),
        };
        form.Add(new("sign", Sign(o.AppSecret, form)));
        return form;
    }

    /// <summary>Calls an endpoint with a <c>biz</c> object; returns <c>data</c>, or throws on a non-zero <c>code</c>.</summary>
    public async Task<JsonObject> CallAsync(string path, JsonObject biz, CancellationToken cancellationToken)
    {
        var o = options.Value;
        var form = Form(o, biz.ToJsonString(), time.GetUtcNow().ToUnixTimeSeconds());
        using var content = new FormUrlEncodedContent(form);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-www-form-urlencoded") { CharSet = "UTF-8" };
        using var response = await http.CreateClient(nameof(JushuitanClient)).PostAsync(PlatformHttp.Combine(o.ApiBaseAddress, path), content, cancellationToken).ConfigureAwait(false);
        var json = await PlatformHttp.ReadObjectAsync(response, "Jushuitan", cancellationToken).ConfigureAwait(false);
        var code = json["code"] is JsonValue value && value.TryGetValue<long>(out var c) ? c : 0;
        if (code != 0)
        {
            throw new JushuitanApiException(code, json["msg"]?.ToString());
        }

        return json["data"] as JsonObject ?? [];
    }
}
