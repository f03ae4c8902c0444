using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Chat.Runtime.Loading;

/// <summary>
/// The host API versions a plugin says it works with. Forms: <c>1.x</c> (any 1.*), a bare <c>1.2</c> (1.2 or later
/// within major 1, like a caret range), or NuGet interval notation (<c>[1.0,2.0)</c>, <c>[1.1,]</c>, <c>[1.0]</c>).
/// </summary>
internal readonly record struct HostApiRange(Version Min, bool MinInclusive, Version? Max, bool MaxInclusive, string Text)
{
    public bool Includes(Version version)
    {
        var v = Normalize(version);
        var min = v.CompareTo(Min);
        if (min < 0 || (min == 0 && !MinInclusive))
        {
            return false;
        }

        if (Max is null)
        {
            return true;
        }

        var max = v.CompareTo(Max);
        return max < 0 || (max == 0 && MaxInclusive);
    }

    public override string ToString() => Text;

    public static bool TryParse([NotNullWhen(true)] string? text, out HostApiRange range)
    {
        range = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var s = text.Trim();
        if (s.EndsWith(".x", StringComparison.OrdinalIgnoreCase) || s.EndsWith(".*", StringComparison.Ordinal))
        {
            if (!int.TryParse(s.AsSpan(0, s.Length - 2), NumberStyles.None, CultureInfo.InvariantCulture, out var major))
            {
                return false;
            }

            range = new HostApiRange(new Version(major, 0, 0), true, new Version(major + 1, 0, 0), false, s);
            return true;
        }

        if (s[0] is '[' or '(')
        {
            return TryParseInterval(s, out range);
        }

        if (!TryParseVersion(s, out var bare))
        {
            return false;
        }

        range = new HostApiRange(bare, true, new Version(bare.Major + 1, 0, 0), false, s);
        return true;
    }

    private static bool TryParseInterval(string s, out HostApiRange range)
    {
        range = default;
        var last = s[^1];
        if (s.Length < 3 || last is not (']' or ')'))
        {
            return false;
        }

        var minInclusive = s[0] == '[';
        var maxInclusive = last == ']';
        var inner = s[1..^1];
        var comma = inner.IndexOf(',', StringComparison.Ordinal);
        if (comma < 0)
        {
            // "[1.0]": exactly that version.
            if (!minInclusive || !maxInclusive || !TryParseVersion(inner, out var exact))
            {
                return false;
            }

            range = new HostApiRange(exact, true, exact, true, s);
            return true;
        }

        var lower = inner[..comma].Trim();
        var upper = inner[(comma + 1)..].Trim();
        Version min = new(0, 0, 0);
        Version? max = null;
        if (lower.Length > 0 && !TryParseVersion(lower, out min))
        {
            return false;
        }

        if (upper.Length > 0)
        {
            if (!TryParseVersion(upper, out var parsedMax) || parsedMax.CompareTo(min) < 0)
            {
                return false;
            }

            max = parsedMax;
        }

        if (lower.Length == 0)
        {
            minInclusive = true;
        }

        range = new HostApiRange(min, minInclusive, max, maxInclusive, s);
        return true;
    }

    private static bool TryParseVersion(string text, out Version version)
    {
        var t = text.Trim();
        if (int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var major))
        {
            version = new Version(major, 0, 0);
            return true;
        }

        if (Version.TryParse(t, out var parsed))
        {
            version = Normalize(parsed);
            return true;
        }

        version = new Version(0, 0, 0);
        return false;
    }

    private static Version Normalize(Version v) => new(v.Major, Math.Max(v.Minor, 0), Math.Max(v.Build, 0));
}
