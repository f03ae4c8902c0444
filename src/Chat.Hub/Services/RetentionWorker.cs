using Chat.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Services;

/// <summary>
/// Keeps a customer's data no longer than <see cref="ChatHubOptions.RetainInactiveContactsFor"/> after their last
/// activity, and each message no longer than <see cref="ChatHubOptions.RetainMessagesFor"/>: every
/// <see cref="ChatHubOptions.RetentionSweepInterval"/>, erases each contact with no activity since
/// (<see cref="IContactEraser.FindInactiveContactsAsync"/>, then <see cref="IContactEraser.EraseInactiveContactAsync"/>,
/// which keeps a contact that wrote in the meantime), then the messages stored before the messages' cutoff, a page at a
/// time (<see cref="IContactEraser.EraseMessagesCreatedBeforeAsync"/>). Every node sweeps; two nodes erasing the same
/// contact or message erase it once.
/// </summary>
internal sealed partial class RetentionWorker(IServiceProvider services, IOptions<ChatHubOptions> options, TimeProvider time, ChatHubMetrics metrics,
    ILogger<RetentionWorker> logger)
    : BackgroundService
{
    private const int Batch = 200;

    // Old messages are erased this many to a transaction, so no sweep holds locks (or SQLite's one writer) for long.
    private const int MessageBatch = 1_000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (o.RetainInactiveContactsFor is null && o.RetainMessagesFor is null)
        {
            return;
        }

        var eraser = services.GetRequiredService<IContactEraser>();
        using var timer = new PeriodicTimer(o.RetentionSweepInterval, time);
        do
        {
            try
            {
                var now = time.GetUtcNow();
                if (o.RetainInactiveContactsFor is { } contacts)
                {
                    await SweepContactsAsync(eraser, now - contacts, stoppingToken).ConfigureAwait(false);
                }

                if (o.RetainMessagesFor is { } messages)
                {
                    await SweepMessagesAsync(eraser, now - messages, stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogSweepFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    private async Task SweepMessagesAsync(IContactEraser eraser, DateTimeOffset createdBefore, CancellationToken cancellationToken)
    {
        int messages = 0, deliveries = 0;
        try
        {
            while (true)
            {
                var page = await eraser.EraseMessagesCreatedBeforeAsync(createdBefore, MessageBatch, cancellationToken).ConfigureAwait(false);
                messages += page.Messages;
                deliveries += page.Deliveries;
                if (page.Messages < MessageBatch)
                {
                    break;
                }
            }
        }
        finally
        {
            // What was erased before a failure is said too.
            if (messages > 0)
            {
                metrics.MessagesErased(messages);
                LogMessagesSwept(logger, messages, deliveries, createdBefore);
            }
        }
    }

    private async Task SweepContactsAsync(IContactEraser eraser, DateTimeOffset inactiveBefore, CancellationToken cancellationToken)
    {
        var erased = ContactErasure.None;
        ContactKey? after = null;
        while (true)
        {
            // Page after page in the contacts' order, so the sweep reads each contact once.
            var contacts = await eraser.FindInactiveContactsAsync(inactiveBefore, after, Batch, cancellationToken).ConfigureAwait(false);
            foreach (var contact in contacts)
            {
                var one = await eraser.EraseInactiveContactAsync(contact.TenantId, contact.ContactId, inactiveBefore, cancellationToken).ConfigureAwait(false);
                erased = new ContactErasure(erased.Contacts + one.Contacts, erased.ChannelIdentities + one.ChannelIdentities,
                    erased.Conversations + one.Conversations, erased.Messages + one.Messages, erased.Deliveries + one.Deliveries);
            }

            if (contacts.Count < Batch)
            {
                break;
            }

            after = contacts[^1];
        }

        if (erased.Contacts > 0)
        {
            metrics.ContactsErased(erased.Contacts);
            LogSwept(logger, erased.Contacts, erased.Conversations, erased.Messages, inactiveBefore);
        }
    }

    [LoggerMessage(EventId = 57, Level = LogLevel.Information, Message = "Retention erased {Contacts} contact(s) with no activity since {InactiveBefore:O}: {Conversations} conversation(s), {Messages} message(s).")]
    private static partial void LogSwept(ILogger logger, int contacts, int conversations, int messages, DateTimeOffset inactiveBefore);

    [LoggerMessage(EventId = 58, Level = LogLevel.Warning, Message = "Retention could not erase inactive contacts or old messages; it tries again at its next sweep.")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 63, Level = LogLevel.Information, Message = "Retention erased {Messages} message(s) stored before {CreatedBefore:O}, and {Deliveries} of their deliveries.")]
    private static partial void LogMessagesSwept(ILogger logger, int messages, int deliveries, DateTimeOffset createdBefore);
}
