using System.Buffers.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Chat.Protocol;

/// <summary>
/// The JSON shape of the framework's wire types (hub JSON protocol and REST): camelCase names, enums as camelCase
/// strings, and 64-bit integers as strings, because a JavaScript number holds integers exactly only up to 2^53 and
/// message and conversation ids are larger. Reading accepts numbers and strings alike.
/// </summary>
public static class ChatJson
{
    /// <summary>Options with the framework's JSON shape (web defaults plus <see cref="Apply"/>); do not change them.</summary>
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    /// <summary>Adds the framework's converters to <paramref name="options"/> (a hub protocol's payload options, for example).</summary>
    /// <param name="options">The options to change.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    public static void Apply(JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.PropertyNamingPolicy ??= JsonNamingPolicy.CamelCase;
        options.PropertyNameCaseInsensitive = true;
        options.Converters.Add(new Int64AsStringConverter());
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
    }

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        Apply(options);
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    private sealed class Int64AsStringConverter : JsonConverter<long>
    {
        public override long Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.Number)
            {
                return reader.GetInt64();
            }

            if (reader.TokenType == JsonTokenType.String)
            {
                var span = reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan;
                if (Utf8Parser.TryParse(span, out long value, out var consumed) && consumed == span.Length)
                {
                    return value;
                }
            }

            throw new JsonException("Expected a 64-bit integer as a number or a string of digits.");
        }

        public override void Write(Utf8JsonWriter writer, long value, JsonSerializerOptions options)
        {
            // Formatted on the stack: every id and seq of every message goes through here.
            Span<byte> digits = stackalloc byte[20];
            Utf8Formatter.TryFormat(value, digits, out var written);
            writer.WriteStringValue(digits[..written]);
        }
    }
}
