using System.Text.Json;
using Chat.Protocol;

namespace Chat.Hub.Tests;

/// <summary>The wire shape of ids: 64-bit integers as JSON strings, read back from strings or numbers.</summary>
public sealed class ChatJsonTests
{
    [Theory]
    [InlineData(0L)]
    [InlineData(1L)]
    [InlineData(-1L)]
    [InlineData(288230376151711745L)] // above 2^53, where a JavaScript number would round it
    [InlineData(long.MaxValue)]
    [InlineData(long.MinValue)]
    public void A_long_is_written_as_a_string_and_read_back_from_a_string_or_a_number(long value)
    {
        var json = JsonSerializer.Serialize(new ResumeRequest { ConversationId = value, AfterSeq = value }, ChatJson.Options);
        var text = value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains($"\"conversationId\":\"{text}\"", json, StringComparison.Ordinal);
        Assert.Equal(value, JsonSerializer.Deserialize<ResumeRequest>(json, ChatJson.Options)!.ConversationId);
        Assert.Equal(value, JsonSerializer.Deserialize<ResumeRequest>($"{{\"conversationId\":{text}}}", ChatJson.Options)!.ConversationId);
    }

    [Theory]
    [InlineData("\"12a\"")]
    [InlineData("\"\"")]
    [InlineData("\" 12\"")]
    [InlineData("\"9223372036854775808\"")] // one above long.MaxValue
    [InlineData("true")]
    public void Anything_but_digits_is_refused(string id)
    {
        var error = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<ResumeRequest>($"{{\"conversationId\":{id}}}", ChatJson.Options));
        Assert.Contains("64-bit integer", error.Message, StringComparison.Ordinal);
    }
}
