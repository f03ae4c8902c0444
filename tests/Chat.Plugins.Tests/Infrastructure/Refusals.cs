using System.Text;

namespace Chat.Plugins.Tests.Infrastructure;

/// <summary>Asserts that each bad request is refused with its status and a reason that names the problem, and nothing is taken.</summary>
public static class Refusals
{
    public static async Task AssertAsync(Func<IWebhookHandler> handler, IEnumerable<(WebhookRequest Request, int Status, string Reason)> cases)
    {
        foreach (var (request, status, reason) in cases)
        {
            var result = await handler().HandleAsync(request, default);
            var body = Encoding.UTF8.GetString(result.Response.Body.Span);
            Assert.True(status == result.Response.StatusCode, $"expected {status} for '{reason}', got {result.Response.StatusCode}: {body}");
            Assert.Contains(reason, body, StringComparison.Ordinal);
            Assert.Empty(result.Messages);
        }
    }
}
