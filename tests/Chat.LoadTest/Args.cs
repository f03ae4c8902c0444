using System.Globalization;

namespace Chat.LoadTest;

/// <summary>"--name value" arguments.</summary>
internal sealed class Args(string[] args)
{
    public string? GetOrNull(string name)
    {
        var i = Array.IndexOf(args, "--" + name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    public string Get(string name, string fallback) => GetOrNull(name) ?? fallback;

    public int GetInt(string name, int fallback) => int.Parse(Get(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
}
