using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Chat.Plugins.Shared;

/// <summary>What every platform API call here shares: the URI under a base address, reading a JSON answer, and a token refreshed once when refused.</summary>
internal static class PlatformHttp
{
    /// <summary>An absolute URI of <paramref name="pathAndQuery"/> under a configured base address.</summary>
    public static Uri Combine(Uri baseAddress, string pathAndQuery)
    {
        var root = baseAddress.AbsoluteUri.EndsWith('/') ? baseAddress : new Uri(baseAddress.AbsoluteUri + "/");
        return new Uri(root, pathAndQuery.TrimStart('/'));
    }

    /// <summary>The answer's JSON object; an HTTP error, malformed or empty JSON throws (the caller retries those).</summary>
    /// <exception cref="HttpRequestException">The status code is not a success.</exception>
    /// <exception cref="InvalidDataException">The body is not a JSON object.</exception>
    public static async Task<JsonObject> ReadObjectAsync(HttpResponseMessage response, string platform, CancellationToken cancellationToken)
    {
        response.EnsureSuccessStatusCode();
        try
        {
            return await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken).ConfigureAwait(false)
                   ?? throw new InvalidDataException($"{platform} answered with an empty body.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{platform} answered with malformed JSON: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Calls <paramref name="send"/> with the cached token; when it fails with an error <paramref name="isTokenRefused"/>
    /// recognises, forgets that token and calls once more with a fresh one. A second refusal propagates.
    /// </summary>
    public static async Task<T> WithTokenAsync<T>(AccessTokenCache tokens, Func<string, CancellationToken, Task<T>> send,
        Func<Exception, bool> isTokenRefused, CancellationToken cancellationToken)
    {
        var token = await tokens.GetAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await send(token, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (isTokenRefused(ex))
        {
            tokens.Invalidate(token); // refreshed once, by whichever delivery gets here first
        }

        return await send(await tokens.GetAsync(cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
    }
}
