namespace Chat.Plugins;

/// <summary>A platform's HTTP push, as the hub received it, with nothing of ASP.NET Core in it.</summary>
public sealed class WebhookRequest
{
    private static readonly IReadOnlyDictionary<string, string> Empty =
        new Dictionary<string, string>(0, StringComparer.OrdinalIgnoreCase);

    /// <summary>The HTTP method, upper case (<c>GET</c>, <c>POST</c>).</summary>
    public required string Method { get; init; }

    /// <summary>The request path.</summary>
    public required string Path { get; init; }

    /// <summary>The query string's values, decoded; where a key repeats, the first value.</summary>
    public IReadOnlyDictionary<string, string> Query { get; init; } = Empty;

    /// <summary>The request headers, looked up without regard to case; repeated headers joined with a comma.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = Empty;

    /// <summary>The raw body, byte for byte as it arrived (signatures are computed over it).</summary>
    public ReadOnlyMemory<byte> Body { get; init; }

    /// <summary>Returns a header's value, or null.</summary>
    /// <param name="name">The header name, in any case.</param>
    /// <returns>The value, or null.</returns>
    public string? GetHeader(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    /// <summary>Returns a query value, or null.</summary>
    /// <param name="name">The query key.</param>
    /// <returns>The value, or null.</returns>
    public string? GetQuery(string name) => Query.TryGetValue(name, out var value) ? value : null;
}
