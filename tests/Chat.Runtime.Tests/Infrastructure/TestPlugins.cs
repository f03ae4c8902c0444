using System.Reflection;

namespace Chat.Runtime.Tests.Infrastructure;

/// <summary>The real plugin folders built from tests/Plugins, and throwaway plugin directories made from them.</summary>
internal static class TestPlugins
{
    public const string Json12 = "Chat.TestPlugins.Json12";
    public const string Json13 = "Chat.TestPlugins.Json13";
    public const string Throwing = "Chat.TestPlugins.Throwing";
    public const string Hanging = "Chat.TestPlugins.Hanging";
    public const string FutureHost = "Chat.TestPlugins.FutureHost";
    public const string Broken = "Chat.TestPlugins.Broken";

    public static string DeployedRoot { get; } =
        typeof(TestPlugins).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "TestPluginsDir").Value!;

    /// <summary>Makes a new plugin directory holding copies of the named plugin folders.</summary>
    public static TempDirectory NewDirectory(params string[] plugins)
    {
        var dir = new TempDirectory();
        foreach (var plugin in plugins)
        {
            CopyPlugin(plugin, dir.Path);
        }

        return dir;
    }

    /// <summary>Copies a deployed plugin folder into a plugin directory, under another folder name if given.</summary>
    public static string CopyPlugin(string plugin, string pluginDirectory, string? folderName = null)
    {
        var source = Path.Combine(DeployedRoot, plugin);
        Assert.True(Directory.Exists(source), $"The test plugin folder {source} was not built.");
        var target = Path.Combine(pluginDirectory, folderName ?? plugin);
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(source))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        return target;
    }
}

internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "chat-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A loaded plugin assembly may still be mapped; the OS temp cleaner gets it later.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
