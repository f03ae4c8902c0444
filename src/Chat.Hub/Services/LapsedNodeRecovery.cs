using Chat.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Services;

/// <summary>
/// Sees to what a node that stopped without shutting down (a crash, a kill, a lost machine) may have left behind: the
/// messages it stored but never pushed, and customers' messages whose conversations it never reopened or assigned.
/// The senders' retries catch most of these (a retry found stored is pushed again), but a sender that never comes back
/// (a customer who closed the app) leaves an agent who never hears of the message and, in a resolved conversation, a
/// customer waiting for an answer nobody is asked to give.
/// </summary>
/// <remarks>
/// Such a node's id-generator lease lapses instead of being released (<see cref="IWorkerIdLeaseStore.ListLapsedAsync"/>).
/// Every node looks for lapsed leases every third of the lease's time to live. On seeing one, a node with the Redis
/// backplane tells its own clients to catch up from <c>Resume</c> (<see cref="RedisOutageCatchUp"/>), looking back to
/// before the stopped node's last renewal; a node alone has nobody else's pushes to miss. Once the lease has lapsed for
/// half its time to live, so that every node has seen it, a node finds the customers' messages stored in that span
/// that are still the last change to a conversation that is not open (<see cref="IMessageStore.ListUnattendedAsync"/>),
/// sees to each as a retry would (<see cref="ConversationService.AttendAsync"/>), then removes the lease
/// (<see cref="IWorkerIdLeaseStore.ForgetLapsedAsync"/>). Two nodes that see to the same message do it once: the first
/// changes its conversation, so it is no longer the last change.
/// </remarks>
internal sealed partial class LapsedNodeRecovery(IServiceProvider services, IOptions<Chat.Runtime.ChatOptions> options, ConversationService conversations,
    TimeProvider time, ILogger<LapsedNodeRecovery> logger) : BackgroundService
{
    private const int Page = 500;

    // Node clocks and the store's differ a little; messages' times come from the node that stored them.
    private static readonly TimeSpan ClockMargin = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var ids = options.Value.Ids;
        var leases = services.GetService<IWorkerIdLeaseStore>();
        var messages = services.GetService<IMessageStore>();
        if (!ids.LeaseWorkerId || leases is null || messages is null)
        {
            return;
        }

        var catchUp = services.GetService<RedisOutageCatchUp>();
        var timeToLive = ids.LeaseTimeToLive;
        var seen = new HashSet<(int WorkerId, Guid Token)>();
        var startedAt = time.GetUtcNow();
        using var timer = new PeriodicTimer(timeToLive / 3, time);
        do
        {
            try
            {
                var lapsed = await leases.ListLapsedAsync(stoppingToken).ConfigureAwait(false);
                foreach (var lease in lapsed)
                {
                    // From before the node's last renewal: it may have stopped pushing a little before it stopped renewing.
                    var since = lease.ExpiresAt - timeToLive - timeToLive / 3 - ClockMargin;
                    if (seen.Add((lease.WorkerId, lease.Token)) && lease.ExpiresAt >= startedAt - ClockMargin)
                    {
                        // Lapsed while this node ran: its clients may have missed the stopped node's pushes. (Those of a
                        // lease that lapsed before it started connected since, and read what they had missed then.)
                        LogLapsed(logger, lease.WorkerId, lease.ExpiresAt);
                        catchUp?.TellAfterNodeLost(time.GetUtcNow() - since);
                    }

                    if (time.GetUtcNow() - lease.ExpiresAt >= timeToLive / 2)
                    {
                        await AttendAsync(messages, lease, since, stoppingToken).ConfigureAwait(false);
                        await leases.ForgetLapsedAsync(lease, timeToLive / 2, stoppingToken).ConfigureAwait(false);
                    }
                }

                seen.IntersectWith(lapsed.Select(static l => (l.WorkerId, l.Token)));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Looked for again at the next tick: a lapsed lease stays until all it left has been seen to (a message
                // seen to already is then no longer the last change to its conversation, or is only pushed again).
                LogFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    private async Task AttendAsync(IMessageStore messages, WorkerIdLease lease, DateTimeOffset since, CancellationToken stoppingToken)
    {
        var attended = 0;
        var afterId = 0L;
        while (true)
        {
            var page = await messages.ListUnattendedAsync(since, lease.ExpiresAt + ClockMargin, afterId, Page, stoppingToken).ConfigureAwait(false);
            foreach (var message in page)
            {
                if (await conversations.AttendAsync(message).ConfigureAwait(false) is not null)
                {
                    attended++;
                }
            }

            if (page.Count < Page)
            {
                break;
            }

            afterId = page[^1].Id;
        }

        LogAttended(logger, lease.WorkerId, attended);
    }

    [LoggerMessage(EventId = 74, Level = LogLevel.Warning, Message = "The node that held id-generator worker number {WorkerId} stopped without releasing it (its lease lapsed at {ExpiresAt}); what it may have stored without pushing is caught up.")]
    private static partial void LogLapsed(ILogger logger, int workerId, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 75, Level = LogLevel.Information, Message = "Saw to {Count} customer message(s) left unattended by the stopped node that held worker number {WorkerId}: their conversations were reopened or assigned and the messages pushed again.")]
    private static partial void LogAttended(ILogger logger, int workerId, int count);

    [LoggerMessage(EventId = 76, Level = LogLevel.Warning, Message = "Could not look for, or see to, what a stopped node left behind; tried again at the next look.")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
