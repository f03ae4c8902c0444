using Chat.Runtime.Loading;

namespace Chat.Runtime.Tests.Loading;

public sealed class HostApiRangeTests
{
    [Theory]
    [InlineData("1.x", "1.0.0", true)]
    [InlineData("1.x", "1.9.3", true)]
    [InlineData("1.x", "2.0.0", false)]
    [InlineData("1.*", "1.4", true)]
    [InlineData("1.2", "1.2.0", true)]
    [InlineData("1.2", "1.1.9", false)]
    [InlineData("1.2", "2.0.0", false)]
    [InlineData("1", "1.5", true)]
    [InlineData("[1.0,2.0)", "1.0.0", true)]
    [InlineData("[1.0,2.0)", "2.0.0", false)]
    [InlineData("[1.0,2.0]", "2.0.0", true)]
    [InlineData("(1.0,2.0)", "1.0.0", false)]
    [InlineData("[1.1,]", "7.0.0", true)]
    [InlineData("[1.1,)", "1.0.9", false)]
    [InlineData("(,1.5]", "0.1.0", true)]
    [InlineData("[1.0]", "1.0.0", true)]
    [InlineData("[1.0]", "1.0.1", false)]
    [InlineData(" [ 1.0 , 2.0 ) ", "1.5.0", true)]
    public void Ranges_include_the_versions_they_should(string range, string version, bool included)
    {
        Assert.True(HostApiRange.TryParse(range, out var parsed));
        Assert.Equal(included, parsed.Includes(Version.Parse(version.Contains('.', StringComparison.Ordinal) ? version : version + ".0")));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("latest")]
    [InlineData("x.1")]
    [InlineData("[2.0,1.0)")]
    [InlineData("[1.0")]
    [InlineData("(1.0)")]
    [InlineData("[a,b]")]
    public void Nonsense_is_not_a_range(string? text)
    {
        Assert.False(HostApiRange.TryParse(text, out _));
    }
}
