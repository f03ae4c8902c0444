using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Chat.Plugins.Shared;

namespace Chat.Plugins.WeChatMiniProgram;

/// <summary>The push signature and the "WXBizMsgCrypt" scheme: AES-256-CBC, PKCS#7-style padding to 32 bytes.</summary>
internal static class WeChatCrypto
{
    private const int Block = 32;

    /// <summary><c>lowercase_hex(SHA1(concat(sort_ordinal(parts))))</c>.</summary>
    public static string Signature(params string[] parts)
    {
        var sorted = (string[])parts.Clone();
        Array.Sort(sorted, StringComparer.Ordinal);
        return Signatures.Sha1Hex(string.Concat(sorted));
    }

    /// <summary>The 32-byte AES key from a 43-character EncodingAESKey.</summary>
    /// <exception cref="InvalidOperationException">The key is not 43 base64 characters of a 32-byte key.</exception>
    public static byte[] DecodeKey(string encodingAesKey, string name)
    {
        byte[]? key = null;
        if (encodingAesKey.Length == 43)
        {
            try
            {
                key = Convert.FromBase64String(encodingAesKey + "=");
            }
            catch (FormatException)
            {
                key = null;
            }
        }

        return key is { Length: 32 }
            ? key
            : throw new InvalidOperationException($"Chat:Plugins:wechat-miniprogram:{name} must be the 43-character EncodingAESKey from the mini-program's settings.");
    }

    /// <summary>Decrypts an <c>Encrypt</c> value; returns the message and the AppID it ends with.</summary>
    /// <exception cref="FormatException">Not base64, not whole blocks, bad padding or a bad length field.</exception>
    public static (string Message, string AppId) Decrypt(string encrypt, byte[] key)
    {
        byte[] cipher;
        try
        {
            cipher = Convert.FromBase64String(encrypt);
        }
        catch (FormatException)
        {
            throw new FormatException("Encrypt is not base64.");
        }

        if (cipher.Length == 0 || cipher.Length % 16 != 0)
        {
            throw new FormatException($"Encrypt is {cipher.Length} bytes, not a whole number of AES blocks.");
        }

        using var aes = Aes.Create();
        aes.Key = key;
        var plain = aes.DecryptCbc(cipher, key.AsSpan(0, 16), PaddingMode.None);
        var pad = plain[^1];
        if (pad is < 1 or > Block || pad > plain.Length)
        {
            throw new FormatException($"Bad padding ({pad}); the EncodingAESKey may be wrong.");
        }

        for (var i = plain.Length - pad; i < plain.Length; i++)
        {
            if (plain[i] != pad)
            {
                throw new FormatException("Bad padding; the EncodingAESKey may be wrong.");
            }
        }

        var content = plain.AsSpan(0, plain.Length - pad);
        if (content.Length < 20)
        {
            throw new FormatException("The decrypted push is too short.");
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(content.Slice(16, 4));
        if (length > (uint)(content.Length - 20))
        {
            throw new FormatException("The decrypted push's length field is out of range; the EncodingAESKey may be wrong.");
        }

        var message = content.Slice(20, (int)length);
        var appId = content[(20 + (int)length)..];
        try
        {
            var strict = new UTF8Encoding(false, true);
            return (strict.GetString(message), strict.GetString(appId));
        }
        catch (DecoderFallbackException)
        {
            throw new FormatException("The decrypted push is not UTF-8; the EncodingAESKey may be wrong.");
        }
    }

    /// <summary>Encrypts a message as WeChat would (tests and the fake platform use it; 16 random bytes unless given).</summary>
    public static string Encrypt(string message, byte[] key, string appId, ReadOnlySpan<byte> random = default)
    {
        var msg = Encoding.UTF8.GetBytes(message);
        var app = Encoding.UTF8.GetBytes(appId);
        var length = 16 + 4 + msg.Length + app.Length;
        var pad = Block - (length % Block);
        var plain = new byte[length + pad];
        if (random.IsEmpty)
        {
            RandomNumberGenerator.Fill(plain.AsSpan(0, 16));
        }
        else
        {
            random[..16].CopyTo(plain);
        }

        BinaryPrimitives.WriteUInt32BigEndian(plain.AsSpan(16, 4), (uint)msg.Length);
        msg.CopyTo(plain, 20);
        app.CopyTo(plain, 20 + msg.Length);
        plain.AsSpan(length).Fill((byte)pad);
        using var aes = Aes.Create();
        aes.Key = key;
        return Convert.ToBase64String(aes.EncryptCbc(plain, key.AsSpan(0, 16), PaddingMode.None));
    }
}
