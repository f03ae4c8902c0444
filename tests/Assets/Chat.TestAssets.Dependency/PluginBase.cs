namespace Chat.TestAssets.Dependency;

/// <summary>A base class in a private plugin dependency.</summary>
public abstract class PluginBase
{
    protected string Describe() => GetType().Name;
}
