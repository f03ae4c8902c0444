using System.Security.Cryptography;
using System.Text;

namespace Chat.Plugins.Shared;

/// <summary>Signature helpers: lowercase hex digests and constant-time comparison of what a request claims.</summary>
internal static class Signatures
{
    /// <summary>Lowercase hex of SHA-1 over the UTF-8 bytes of <paramref name="text"/>.</summary>
    public static string Sha1Hex(string text) => Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>
    /// Whether <paramref name="given"/> (hex, any case) equals <paramref name="expectedLowerHex"/>, in time that does
    /// not depend on where they differ.
    /// </summary>
    public static bool HexEquals(string? given, string expectedLowerHex)
    {
        if (given is null || given.Length != expectedLowerHex.Length)
        {
            return false;
        }

        Span<byte> a = stackalloc byte[256];
        if (given.Length > a.Length)
        {
            return false;
        }

        var count = Encoding.ASCII.GetBytes(given.ToLowerInvariant(), a);
        return CryptographicOperations.FixedTimeEquals(a[..count], Encoding.ASCII.GetBytes(expectedLowerHex));
    }
}
