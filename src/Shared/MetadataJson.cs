using System.Text.Json;

namespace Chat.Storage.Internal;

/// <summary>Metadata as a JSON object of strings.</summary>
internal static class MetadataJson
{
    private static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>(0, StringComparer.Ordinal);

    public static string Serialize(IReadOnlyDictionary<string, string> metadata) => JsonSerializer.Serialize(metadata);

    public static IReadOnlyDictionary<string, string> Parse(string? json) =>
        string.IsNullOrEmpty(json) || json == "{}"
            ? Empty
            : JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? Empty;
}
