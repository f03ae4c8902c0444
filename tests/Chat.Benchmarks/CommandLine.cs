using System.Globalization;

namespace Chat.Benchmarks;

/// <summary>The benchmark commands' options.</summary>
internal static class CommandLine
{
    /// <summary>The value after <paramref name="name"/>, or null when it is not given.</summary>
    public static string? Argument(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>The whole number after <paramref name="name"/>, or <paramref name="fallback"/> when it is not given.</summary>
    public static int Number(string[] args, string name, int fallback) =>
        Argument(args, name) is { } value ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

    /// <summary>
    /// The PostgreSQL server to measure (<c>--postgres</c>, else <c>CHAT_TEST_POSTGRES</c>), or null, having said how to
    /// give it, when neither is set.
    /// </summary>
    public static string? Postgres(string[] args)
    {
        var postgres = Argument(args, "--postgres") ?? Environment.GetEnvironmentVariable("CHAT_TEST_POSTGRES");
        if (string.IsNullOrWhiteSpace(postgres))
        {
            Console.Error.WriteLine("Give --postgres \"Host=...;Username=...;Database=postgres\" or set CHAT_TEST_POSTGRES.");
            return null;
        }

        return postgres;
    }
}
