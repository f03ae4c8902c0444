namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Returned by <c>AddChat</c>; each Chat package adds its own extensions to it (<c>AddPlugins</c>,
/// <c>AddPostgresStorage</c>, <c>AddHub</c>).
/// </summary>
public interface IChatBuilder
{
    /// <summary>The host's service collection.</summary>
    IServiceCollection Services { get; }
}
