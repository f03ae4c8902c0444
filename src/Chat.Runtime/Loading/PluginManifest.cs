using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Chat.Runtime.Loading;

/// <summary>A plugin folder's <c>plugin.json</c>.</summary>
internal sealed partial record PluginManifest
{
    public const string FileName = "plugin.json";

    private const long MaxManifestBytes = 64 * 1024;

    private static readonly JsonSerializerOptions SerializerOptions = new()
    {
        PropertyNameCaseInsensitive = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    [JsonPropertyName("id")]
    public string? Id { get; init; }

    [JsonPropertyName("version")]
    public string? Version { get; init; }

    [JsonPropertyName("assembly")]
    public string? Assembly { get; init; }

    [JsonPropertyName("hostApi")]
    public string? HostApi { get; init; }

    [JsonPropertyName("enabled")]
    public bool Enabled { get; init; } = true;

    [JsonPropertyName("description")]
    public string? Description { get; init; }

    /// <summary>Reads and checks a manifest; throws <see cref="InvalidDataException"/> naming the field at fault.</summary>
    public static PluginManifest Load(string path)
    {
        var info = new FileInfo(path);
        if (info.Length > MaxManifestBytes)
        {
            throw new InvalidDataException($"{FileName} is {info.Length} bytes; the limit is {MaxManifestBytes}.");
        }

        PluginManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<PluginManifest>(File.ReadAllBytes(path), SerializerOptions);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{FileName} is not valid JSON: {ex.Message}", ex);
        }

        if (manifest is null)
        {
            throw new InvalidDataException($"{FileName} is empty.");
        }

        if (string.IsNullOrWhiteSpace(manifest.Id))
        {
            throw new InvalidDataException($"{FileName} has no 'id'.");
        }

        if (!IdPattern().IsMatch(manifest.Id))
        {
            throw new InvalidDataException(
                $"{FileName} 'id' \"{manifest.Id}\" is not valid: use letters, digits, '.', '_' or '-', at most 100 characters, starting with a letter or digit.");
        }

        if (string.IsNullOrWhiteSpace(manifest.Assembly))
        {
            throw new InvalidDataException($"{FileName} has no 'assembly'.");
        }

        if (Path.IsPathRooted(manifest.Assembly) || manifest.Assembly.Contains("..", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{FileName} 'assembly' must be a file name inside the plugin folder, not \"{manifest.Assembly}\".");
        }

        return manifest;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();
}
