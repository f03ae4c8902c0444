using System.Text;

namespace Chat.Plugins;

/// <summary>The HTTP reply a webhook handler wants sent back to the platform.</summary>
public sealed class WebhookResponse
{
    private static readonly IReadOnlyDictionary<string, string> Empty =
        new Dictionary<string, string>(0, StringComparer.OrdinalIgnoreCase);

    /// <summary>The HTTP status code.</summary>
    public int StatusCode { get; init; } = 200;

    /// <summary>The content type of <see cref="Body"/>, or null for none.</summary>
    public string? ContentType { get; init; }

    /// <summary>The body bytes.</summary>
    public ReadOnlyMemory<byte> Body { get; init; }

    /// <summary>Extra response headers.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = Empty;

    /// <summary>A reply with a UTF-8 plain-text body.</summary>
    /// <param name="statusCode">The HTTP status code.</param>
    /// <param name="text">The body text.</param>
    /// <returns>The reply.</returns>
    public static WebhookResponse Text(int statusCode, string text) => new()
    {
        StatusCode = statusCode,
        ContentType = "text/plain; charset=utf-8",
        Body = Encoding.UTF8.GetBytes(text ?? string.Empty),
    };

    /// <summary>A reply with a UTF-8 JSON body.</summary>
    /// <param name="statusCode">The HTTP status code.</param>
    /// <param name="json">The JSON text.</param>
    /// <returns>The reply.</returns>
    public static WebhookResponse Json(int statusCode, string json) => new()
    {
        StatusCode = statusCode,
        ContentType = "application/json; charset=utf-8",
        Body = Encoding.UTF8.GetBytes(json ?? string.Empty),
    };
}
