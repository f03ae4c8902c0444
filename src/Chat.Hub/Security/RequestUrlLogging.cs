using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Chat.Hub.Security;

/// <summary>
/// Warns at start-up when ASP.NET Core writes request URLs to the logs. A browser's WebSocket cannot carry an
/// Authorization header, so the official JavaScript client sends its access token (a visitor token, an agent's
/// token) in the query string of its requests to the hubs, and ASP.NET Core's request-starting log writes every URL
/// with its query string at Information. Nothing between Kestrel and that log line can take the token out of it, so
/// the host is told to keep that category at Warning, as ASP.NET Core's templates do.
/// </summary>
internal sealed partial class RequestUrlLogging
{
    /// <summary>The category of ASP.NET Core's request-starting and request-finished log lines.</summary>
    public const string Category = "Microsoft.AspNetCore.Hosting.Diagnostics";

    /// <summary>Logs the warning once when the host's logging writes <see cref="Category"/> at Information.</summary>
    public static void WarnIfOn(IServiceProvider services, string prefix)
    {
        if (services.GetService<ILoggerFactory>() is { } loggers && loggers.CreateLogger(Category).IsEnabled(LogLevel.Information))
        {
            Warn(loggers.CreateLogger<RequestUrlLogging>(), Category, prefix.TrimEnd('/'));
        }
    }

    [LoggerMessage(EventId = 56, Level = LogLevel.Warning, Message = "Request URLs are logged with their query strings ({Category} is at Information): browsers send their access tokens to {Prefix}/customer and {Prefix}/agent in the query string, so these logs hold working credentials. Set Logging:LogLevel:{Category} to Warning, as ASP.NET Core's templates do.")]
    private static partial void Warn(ILogger logger, string category, string prefix);
}
