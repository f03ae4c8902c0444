namespace Microsoft.Extensions.DependencyInjection;

internal sealed class ChatBuilder(IServiceCollection services) : IChatBuilder
{
    public IServiceCollection Services { get; } = services;
}
