using Microsoft.Extensions.DependencyInjection;

namespace Chat.Plugins.WeChatMiniProgram;

/// <summary>Binds the options from the plugin's configuration section and registers the API client.</summary>
internal sealed class WeChatStartup : IPluginStartup
{
    public void ConfigureServices(PluginStartupContext context, IServiceCollection services)
    {
        services.Configure<WeChatMiniProgramOptions>(context.Configuration);
        services.AddSingleton<WeChatApi>();
    }
}
