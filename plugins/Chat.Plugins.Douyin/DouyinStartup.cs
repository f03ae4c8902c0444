using Microsoft.Extensions.DependencyInjection;

namespace Chat.Plugins.Douyin;

/// <summary>Binds the options from the plugin's configuration section and registers the API client.</summary>
internal sealed class DouyinStartup : IPluginStartup
{
    public void ConfigureServices(PluginStartupContext context, IServiceCollection services)
    {
        services.Configure<DouyinOptions>(context.Configuration);
        services.AddSingleton<DouyinApi>();
    }
}
