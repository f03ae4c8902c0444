using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Chat.Hub.Security;

/// <summary>A visitor's identity, as a visitor token carries it.</summary>
/// <param name="TenantId">The shop.</param>
/// <param name="CustomerId">The shop's id of the customer (any stable string).</param>
/// <param name="ExpiresAt">When the token stops being valid.</param>
public sealed record VisitorIdentity(string TenantId, string CustomerId, DateTimeOffset ExpiresAt)
{
    /// <summary>The name shown to agents, if the shop gave one.</summary>
    public string? DisplayName { get; init; }
}

/// <summary>
/// Visitor tokens: <c>v1.{payload}.{signature}</c>, where payload is the base64url of the UTF-8 JSON
/// <c>{"t":tenant,"c":customer id,"n":name or null,"e":expiry in Unix seconds}</c> and signature is the base64url of
/// HMAC-SHA256(key, <c>"v1." + payload</c>). A shop's backend (in any language) signs them; the hub verifies them in
/// constant time.
/// </summary>
public static class VisitorTokens
{
    private const string Prefix = "v1.";
    private const int MaxTokenLength = 4096;

    /// <summary>Creates a token.</summary>
    /// <param name="key">The signing key, at least 32 bytes.</param>
    /// <param name="identity">The visitor.</param>
    /// <returns>The token.</returns>
    /// <exception cref="ArgumentException">The key is shorter than 32 bytes, or the tenant or customer id is empty.</exception>
    public static string Create(ReadOnlySpan<byte> key, VisitorIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentException.ThrowIfNullOrWhiteSpace(identity.TenantId, nameof(identity));
        ArgumentException.ThrowIfNullOrWhiteSpace(identity.CustomerId, nameof(identity));
        if (key.Length < 32)
        {
            throw new ArgumentException("A visitor token key must be at least 32 bytes.", nameof(key));
        }

        var json = JsonSerializer.SerializeToUtf8Bytes(new Payload(identity.TenantId, identity.CustomerId, identity.DisplayName, identity.ExpiresAt.ToUnixTimeSeconds()), VisitorTokenJson.Default.Payload);
        var signed = Prefix + Base64Url.EncodeToString(json);
        var mac = HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(signed));
        return signed + "." + Base64Url.EncodeToString(mac);
    }

    /// <summary>Verifies a token against a set of keys.</summary>
    /// <param name="token">The token.</param>
    /// <param name="keys">The keys that may have signed it.</param>
    /// <param name="now">The current time.</param>
    /// <param name="identity">The visitor, when the token is valid.</param>
    /// <param name="error">Why the token is not valid, otherwise.</param>
    /// <returns>True when the token is valid.</returns>
    public static bool TryValidate(string? token, IReadOnlyList<byte[]> keys, DateTimeOffset now, out VisitorIdentity? identity, out string? error)
    {
        ArgumentNullException.ThrowIfNull(keys);
        identity = null;
        if (string.IsNullOrEmpty(token) || token.Length > MaxTokenLength || !token.StartsWith(Prefix, StringComparison.Ordinal))
        {
            error = "The visitor token is missing or not a v1 token.";
            return false;
        }

        var dot = token.LastIndexOf('.');
        if (dot <= Prefix.Length)
        {
            error = "The visitor token is malformed.";
            return false;
        }

        var signed = token.AsSpan(0, dot);
        Span<byte> given = stackalloc byte[64];
        if (!Base64Url.TryDecodeFromChars(token.AsSpan(dot + 1), given, out var givenLength) || givenLength != 32)
        {
            error = "The visitor token's signature is malformed.";
            return false;
        }

        var signedBytes = Encoding.ASCII.GetBytes(signed.ToString());
        Span<byte> expected = stackalloc byte[32];
        var valid = false;
        foreach (var key in keys)
        {
            HMACSHA256.HashData(key, signedBytes, expected);
            valid |= CryptographicOperations.FixedTimeEquals(expected, given[..32]);
        }

        if (!valid)
        {
            error = "The visitor token's signature does not match.";
            return false;
        }

        Payload? payload;
        try
        {
            payload = JsonSerializer.Deserialize(Base64Url.DecodeFromChars(signed[Prefix.Length..]), VisitorTokenJson.Default.Payload);
        }
        catch (Exception ex) when (ex is JsonException or FormatException)
        {
            error = "The visitor token's payload is malformed.";
            return false;
        }

        if (payload is null || string.IsNullOrWhiteSpace(payload.T) || string.IsNullOrWhiteSpace(payload.C))
        {
            error = "The visitor token names no tenant or customer.";
            return false;
        }

        var expires = DateTimeOffset.FromUnixTimeSeconds(payload.E);
        if (expires <= now)
        {
            error = "The visitor token has expired.";
            return false;
        }

        identity = new VisitorIdentity(payload.T, payload.C, expires) { DisplayName = payload.N };
        error = null;
        return true;
    }

    internal sealed record Payload(string T, string C, string? N, long E);
}

[System.Text.Json.Serialization.JsonSerializable(typeof(VisitorTokens.Payload))]
[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class VisitorTokenJson : System.Text.Json.Serialization.JsonSerializerContext;
