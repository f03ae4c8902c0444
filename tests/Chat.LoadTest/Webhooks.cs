using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Chat.Plugins;

namespace Chat.LoadTest;

/// <summary>
/// The platform side of a webhook run (<c>--via webhook</c>): customers are platform users whose messages arrive as
/// signed HTTP pushes, as WeChat's and Douyin's do, instead of hub connections. The Chat server takes them through
/// <see cref="LoadChannel"/>; the bare server checks the signature and forwards the text to the agents' group.
/// </summary>
internal static class Webhooks
{
    public const string SignatureHeader = "X-Load-Signature";
    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("load-test-webhook-secret-0123456789");

    public static string Sign(ReadOnlySpan<byte> body) => Convert.ToHexStringLower(HMACSHA256.HashData(Secret, body));

    public static bool Verify(string? signature, ReadOnlySpan<byte> body) =>
        signature is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(signature), Encoding.ASCII.GetBytes(Sign(body)));

    /// <summary>A push's body: the platform user, the platform's message id and the text.</summary>
    public static byte[] Push(string user, string id, string text) =>
        JsonSerializer.SerializeToUtf8Bytes(new PushBody(user, id, text));

    public static PushBody? Read(ReadOnlySpan<byte> body) => JsonSerializer.Deserialize<PushBody>(body);

    internal sealed record PushBody(string User, string Id, string Text);
}

/// <summary>The Chat server's channel for webhook runs: checks the signature, and hands the push to the hub.</summary>
internal sealed class LoadChannel : IWebhookHandler
{
    public string ChannelId => "load";

    public ValueTask<WebhookResult> HandleAsync(WebhookRequest request, CancellationToken cancellationToken)
    {
        if (!Webhooks.Verify(request.GetHeader(Webhooks.SignatureHeader), request.Body.Span))
        {
            return ValueTask.FromResult(WebhookResult.ReplyOnly(WebhookResponse.Text(401, "bad signature")));
        }

        var push = Webhooks.Read(request.Body.Span)!;
        return ValueTask.FromResult(new WebhookResult(WebhookResponse.Text(200, "success"),
            [new InboundMessage { TenantId = "load", PlatformUserId = push.User, PlatformMessageId = push.Id, Content = push.Text }]));
    }
}
