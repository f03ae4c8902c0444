namespace Chat.Plugins.Shared;

/// <summary>The replies every webhook handler here gives to bad input: a status code and the reason, nothing stored.</summary>
internal static class PluginResponses
{
    public static WebhookResult Unauthorized(string reason) => WebhookResult.ReplyOnly(WebhookResponse.Text(401, reason));

    public static WebhookResult BadRequest(string reason) => WebhookResult.ReplyOnly(WebhookResponse.Text(400, reason));

    public static WebhookResult MethodNotAllowed(string method) => WebhookResult.ReplyOnly(WebhookResponse.Text(405, $"Method {method} is not supported."));
}
