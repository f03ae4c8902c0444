namespace Chat.Hub.Services;

/// <summary>A caller's request that cannot be carried out, with the reason the caller is told and the HTTP status it maps to.</summary>
internal sealed class ChatRequestException(string message, int statusCode = 400) : Exception(message)
{
    public int StatusCode { get; } = statusCode;

    public static ChatRequestException NotFound(long conversationId) => new($"Conversation {conversationId} was not found.", 404);
}
