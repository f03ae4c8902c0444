using System.Text;
using System.Text.Json;
using System.Xml;

namespace Chat.Plugins.WeChatMiniProgram;

/// <summary>The top-level fields of a push (JSON object or <c>&lt;xml&gt;</c> element), as strings.</summary>
internal sealed class WeChatPush
{
    private readonly Dictionary<string, string> _fields;

    private WeChatPush(Dictionary<string, string> fields, bool isXml) => (_fields, IsXml) = (fields, isXml);

    public bool IsXml { get; }

    public string? this[string name] => _fields.TryGetValue(name, out var value) ? value : null;

    /// <summary>Parses a JSON or XML push body.</summary>
    /// <exception cref="FormatException">Neither well-formed JSON object nor an <c>&lt;xml&gt;</c> document.</exception>
    public static WeChatPush Parse(ReadOnlySpan<byte> body)
    {
        var start = body.StartsWith("\uFEFF"u8) ? 3 : 0;
        while (start < body.Length && body[start] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
        {
            start++;
        }

        if (start == body.Length)
        {
            throw new FormatException("The body is empty.");
        }

        if (!System.Text.Unicode.Utf8.IsValid(body))
        {
            throw new FormatException("The body is not valid UTF-8.");
        }

        return body[start] switch
        {
            (byte)'{' => ParseJson(body),
            (byte)'<' => ParseXml(body),
            _ => throw new FormatException("The body is neither JSON nor XML."),
        };
    }

    public static WeChatPush Parse(string text) => Parse(Encoding.UTF8.GetBytes(text));

    private static WeChatPush ParseJson(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 16 });
        try
        {
            using var json = JsonDocument.ParseValue(ref reader);
            if (json.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException("The JSON body is not an object.");
            }

            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in json.RootElement.EnumerateObject())
            {
                fields[property.Name] = property.Value.ValueKind switch
                {
                    JsonValueKind.String => property.Value.GetString()!,
                    JsonValueKind.Null => string.Empty,
                    _ => property.Value.GetRawText(),
                };
            }

            return new WeChatPush(fields, isXml: false);
        }
        catch (JsonException ex)
        {
            throw new FormatException("Malformed JSON: " + ex.Message);
        }
    }

    private static WeChatPush ParseXml(ReadOnlySpan<byte> body)
    {
        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit, // no entities, no external references (XXE)
            XmlResolver = null,
            MaxCharactersInDocument = 1 << 20,
            IgnoreComments = true,
            IgnoreProcessingInstructions = true,
            IgnoreWhitespace = true,
        };
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using var stream = new MemoryStream(body.ToArray(), writable: false);
            using var reader = XmlReader.Create(stream, settings);
            reader.MoveToContent();
            if (reader.NodeType != XmlNodeType.Element || reader.LocalName != "xml")
            {
                throw new FormatException("The XML body's root element is not <xml>.");
            }

            if (reader.IsEmptyElement)
            {
                return new WeChatPush(fields, isXml: true);
            }

            reader.Read();
            while (reader.NodeType != XmlNodeType.EndElement && !reader.EOF)
            {
                if (reader.NodeType == XmlNodeType.Element)
                {
                    var name = reader.LocalName;
                    fields[name] = reader.ReadElementContentAsString(); // CDATA and text alike; nested elements are an error
                }
                else
                {
                    reader.Read();
                }
            }

            return new WeChatPush(fields, isXml: true);
        }
        catch (XmlException ex)
        {
            throw new FormatException("Malformed XML: " + ex.Message);
        }
    }
}
