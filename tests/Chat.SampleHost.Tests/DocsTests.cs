using System.Text.RegularExpressions;

namespace Chat.SampleHost.Tests;

/// <summary>
/// Every C# sample in README.md and docs/*.md is a region of docs/samples (which the solution builds with warnings as
/// errors), word for word: a block without a snippet marker, or one that differs from its region, fails here.
/// build/sync-doc-snippets.py rewrites the blocks from the regions.
/// </summary>
public sealed partial class DocsTests
{
    [Fact]
    public void Every_csharp_sample_in_the_docs_is_compiled_code()
    {
        var root = SampleHostProcess.Metadata("RepoRoot");
        var regions = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(Path.Combine(root, "docs", "samples"), "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            {
                continue;
            }

            foreach (Match m in Region().Matches(File.ReadAllText(file).ReplaceLineEndings("\n")))
            {
                var lines = m.Groups[2].Value.Split('\n');
                var indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
                regions[m.Groups[1].Value] = string.Join('\n', lines.Select(l => (l.Length >= indent ? l[indent..] : l.TrimStart()).TrimEnd()));
            }
        }

        var docs = Directory.GetFiles(Path.Combine(root, "docs"), "*.md").Append(Path.Combine(root, "README.md")).ToList();
        var checkedBlocks = 0;
        foreach (var doc in docs)
        {
            var text = File.ReadAllText(doc).ReplaceLineEndings("\n");
            foreach (Match block in CSharpBlock().Matches(text))
            {
                var marker = SnippetMarker().Match(text[..block.Index]);
                var name = marker.Success && marker.Index + marker.Length == block.Index ? marker.Groups[1].Value : null;
                Assert.True(name is not null, $"{Path.GetFileName(doc)}: a C# block at offset {block.Index} has no <!-- snippet: name --> line above it");
                Assert.True(regions.ContainsKey(name!), $"{Path.GetFileName(doc)}: no #region {name} in docs/samples");
                Assert.True(regions[name!] == block.Groups[1].Value, $"{Path.GetFileName(doc)}: the block '{name}' differs from its region; run build/sync-doc-snippets.py");
                checkedBlocks++;
            }
        }

        Assert.True(checkedBlocks >= 10, $"only {checkedBlocks} samples found");
    }

    [GeneratedRegex(@"#region (\S+)\n(.*?)\n[ \t]*#endregion", RegexOptions.Singleline)]
    private static partial Regex Region();

    [GeneratedRegex(@"```csharp\n(.*?)\n```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    [GeneratedRegex(@"<!-- snippet: (\S+) -->\n$")]
    private static partial Regex SnippetMarker();
}
