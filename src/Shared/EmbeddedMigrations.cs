using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;

namespace Chat.Storage.Internal;

/// <summary>Versioned SQL scripts embedded as <c>{prefix}.NNNN_name.sql</c>, in version order. Shared by the storage packages.</summary>
internal static partial class EmbeddedMigrations
{
    public static IReadOnlyList<(int Version, string Name, string Sql)> Load(Assembly assembly, string prefix)
    {
        var migrations = new List<(int Version, string Name, string Sql)>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(prefix + ".", StringComparison.Ordinal))
            {
                continue;
            }

            var match = FileName().Match(resource[(prefix.Length + 1)..]);
            if (match.Success)
            {
                using var reader = new StreamReader(assembly.GetManifestResourceStream(resource)!);
                migrations.Add((int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), match.Groups[2].Value, reader.ReadToEnd()));
            }
        }

        migrations.Sort(static (a, b) => a.Version.CompareTo(b.Version));
        return migrations;
    }

    [GeneratedRegex(@"^(\d{4})_(\w+)\.sql$")]
    private static partial Regex FileName();
}
