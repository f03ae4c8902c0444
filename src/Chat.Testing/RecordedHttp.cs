using System.Collections.Concurrent;
using System.Net;

namespace Chat.Testing;

/// <summary>One HTTP request a plugin made, as the platform would have received it.</summary>
/// <param name="Method">The HTTP method.</param>
/// <param name="Uri">The absolute request URI.</param>
/// <param name="Headers">The request and content headers, repeated values joined with a comma.</param>
/// <param name="Body">The body bytes (empty when there was none).</param>
public sealed record RecordedRequest(HttpMethod Method, Uri Uri, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    /// <summary>The body as UTF-8 text.</summary>
    public string BodyText => System.Text.Encoding.UTF8.GetString(Body);
}

/// <summary>
/// Stands in for the platforms: every HTTP call a plugin makes through the host's <see cref="IHttpClientFactory"/> is
/// recorded here and answered by <see cref="Responder"/> (by default 200 with <c>{}</c>), so no request leaves the machine.
/// </summary>
public sealed class RecordedHttp
{
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();

    /// <summary>Every request so far, in the order they were made.</summary>
    public IReadOnlyList<RecordedRequest> Requests => _requests.ToArray();

    /// <summary>Answers each request; set it to speak the platform's protocol. Called concurrently.</summary>
    public Func<RecordedRequest, HttpResponseMessage> Responder { get; set; } = static _ => Json(HttpStatusCode.OK, "{}");

    /// <summary>A JSON answer.</summary>
    /// <param name="status">The status code.</param>
    /// <param name="json">The JSON text.</param>
    /// <returns>The response.</returns>
    public static HttpResponseMessage Json(HttpStatusCode status, string json) =>
        new(status) { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };

    /// <summary>Waits until at least <paramref name="count"/> requests were recorded.</summary>
    /// <param name="count">How many.</param>
    /// <param name="timeout">How long to wait; default 10 seconds.</param>
    /// <returns>The requests.</returns>
    /// <exception cref="TimeoutException">They did not come in time.</exception>
    public async Task<IReadOnlyList<RecordedRequest>> WaitForAsync(int count, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (_requests.Count < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Expected {count} outbound request(s); the plugin made {_requests.Count}.");
            }

            await Task.Delay(20).ConfigureAwait(false);
        }

        return Requests;
    }

    internal HttpMessageHandler CreateHandler() => new RecordingHandler(this);

    private sealed class RecordingHandler(RecordedHttp owner) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            var headers = request.Headers.Concat(request.Content?.Headers ?? Enumerable.Empty<KeyValuePair<string, IEnumerable<string>>>())
                .ToDictionary(static h => h.Key, static h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
            var recorded = new RecordedRequest(request.Method, request.RequestUri!, headers, body);
            owner._requests.Enqueue(recorded);
            var response = owner.Responder(recorded);
            response.RequestMessage = request;
            return response;
        }
    }
}

/// <summary>The host's HTTP client factory in a test host: every client goes through <see cref="RecordedHttp"/>.</summary>
internal sealed class RecordingHttpClientFactory(RecordedHttp http) : IHttpClientFactory
{
    private readonly HttpMessageHandler _handler = http.CreateHandler();

    public HttpClient CreateClient(string name) => new(_handler, disposeHandler: false);
}
