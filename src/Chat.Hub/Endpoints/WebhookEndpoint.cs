using System.Buffers;
using Chat.Hub.Services;
using Chat.Plugins;
using Chat.Runtime.Loading;
using Chat.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Endpoints;

/// <summary>
/// <c>GET|POST {prefix}/channels/{channelId}/webhook</c>: hands the raw push to the channel's plugin, stores every
/// message it carried, and only then sends the plugin's reply (so a platform that got its "success" never loses a message).
/// </summary>
internal static partial class WebhookEndpoint
{
    public static async Task HandleAsync(HttpContext http, string channelId, IPluginCatalog catalog, ConversationService service,
        IOptions<ChatHubOptions> options, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(typeof(WebhookEndpoint).FullName!);
        var handler = catalog.GetServices<IWebhookHandler>().FirstOrDefault(h => string.Equals(h.ChannelId, channelId, StringComparison.Ordinal));
        if (handler is null)
        {
            await WriteTextAsync(http, StatusCodes.Status404NotFound, $"No active plugin handles channel '{channelId}'.");
            return;
        }

        var max = options.Value.MaxWebhookBodyBytes;
        if (http.Request.ContentLength > max)
        {
            await WriteTextAsync(http, StatusCodes.Status413PayloadTooLarge, $"The body is {http.Request.ContentLength} bytes; the most is {max}.");
            return;
        }

        var body = await ReadBodyAsync(http.Request, max, http.RequestAborted);
        if (body is null)
        {
            await WriteTextAsync(http, StatusCodes.Status413PayloadTooLarge, $"The body is larger than {max} bytes.");
            return;
        }

        var request = new WebhookRequest
        {
            Method = http.Request.Method.ToUpperInvariant(),
            Path = http.Request.Path.Value ?? string.Empty,
            Query = http.Request.Query.ToDictionary(static q => q.Key, static q => q.Value.ToString().Split(',')[0], StringComparer.Ordinal),
            Headers = http.Request.Headers.ToDictionary(static h => h.Key, static h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            Body = body,
        };

        WebhookResult result;
        try
        {
            result = await handler.HandleAsync(request, http.RequestAborted);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !http.RequestAborted.IsCancellationRequested)
        {
            LogHandlerFailed(logger, ex, channelId);
            await WriteTextAsync(http, StatusCodes.Status500InternalServerError, $"The plugin for channel '{channelId}' failed to handle the push; nothing was stored.");
            return;
        }

        foreach (var message in result.Messages)
        {
            try
            {
                await service.AcceptInboundAsync(channelId, message, http.RequestAborted);
            }
            catch (ChatRequestException ex)
            {
                // A plugin of the pipeline refused it: the platform is still told it arrived, or it would send it again.
                LogInboundRefused(logger, channelId, message.PlatformMessageId, ex.Message);
            }
            catch (ChatStorageException ex)
            {
                LogStoreFailed(logger, ex, channelId);
                await WriteTextAsync(http, StatusCodes.Status503ServiceUnavailable, "Storage is unavailable; the push was not stored. Retry later.");
                return;
            }
        }

        var response = result.Response;
        http.Response.StatusCode = response.StatusCode;
        foreach (var (name, value) in response.Headers)
        {
            http.Response.Headers[name] = value;
        }

        if (response.ContentType is not null)
        {
            http.Response.ContentType = response.ContentType;
        }

        await http.Response.Body.WriteAsync(response.Body, http.RequestAborted);
    }

    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, long max, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        while (true)
        {
            var memory = buffer.GetMemory(4096);
            var read = await request.Body.ReadAsync(memory, cancellationToken);
            if (read == 0)
            {
                return buffer.WrittenSpan.ToArray();
            }

            buffer.Advance(read);
            if (buffer.WrittenCount > max)
            {
                return null;
            }
        }
    }

    internal static Task WriteTextAsync(HttpContext http, int statusCode, string text)
    {
        http.Response.StatusCode = statusCode;
        http.Response.ContentType = "text/plain; charset=utf-8";
        return http.Response.WriteAsync(text);
    }

    [LoggerMessage(EventId = 50, Level = LogLevel.Error, Message = "The webhook handler of channel {ChannelId} failed")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception, string channelId);

    [LoggerMessage(EventId = 51, Level = LogLevel.Information, Message = "A message of channel {ChannelId} ({PlatformMessageId}) was refused by the pipeline: {Reason}")]
    private static partial void LogInboundRefused(ILogger logger, string channelId, string platformMessageId, string reason);

    [LoggerMessage(EventId = 52, Level = LogLevel.Warning, Message = "A push of channel {ChannelId} could not be stored; the platform was told to retry")]
    private static partial void LogStoreFailed(ILogger logger, Exception exception, string channelId);
}
