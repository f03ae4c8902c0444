using System.Diagnostics.Metrics;
using Chat.Plugins;

namespace Chat.Hub.Services;

/// <summary>
/// The hub's instruments, on the <c>Chat.Hub</c> meter: <c>chat.deliveries</c> (outbox delivery attempts, by
/// <c>chat.channel</c> and <c>chat.outcome</c> = sent, retry or failed), <c>chat.customer.connections.closed</c>
/// (customer connections closed because too much waited to be written to them), <c>chat.audit.refusals</c> (agents'
/// reads refused because they could not be recorded, by <c>chat.action</c>), <c>chat.retention.contacts</c>
/// (contacts erased by retention) and <c>chat.retention.messages</c> (old messages erased by retention). Connections
/// themselves are counted by ASP.NET Core's own SignalR meters.
/// </summary>
internal sealed class ChatHubMetrics
{
    public const string MeterName = "Chat.Hub";

    private readonly Counter<long> _deliveries;
    private readonly Counter<long> _closedCustomers;
    private readonly Counter<long> _auditRefusals;
    private readonly Counter<long> _retainedContacts;
    private readonly Counter<long> _retainedMessages;

    public ChatHubMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _deliveries = meter.CreateCounter<long>("chat.deliveries", "{delivery}", "Delivery attempts to platforms, by how they ended.");
        _closedCustomers = meter.CreateCounter<long>("chat.customer.connections.closed", "{connection}", "Customer connections closed because more than CustomerBacklogBytes waited to be written to them.");
        _auditRefusals = meter.CreateCounter<long>("chat.audit.refusals", "{read}", "Agents' reads of customer data refused because the audit log could not record them.");
        _retainedContacts = meter.CreateCounter<long>("chat.retention.contacts", "{contact}", "Contacts erased by retention, with all their data.");
        _retainedMessages = meter.CreateCounter<long>("chat.retention.messages", "{message}", "Messages erased by retention for their age.");
    }

    public void Delivery(string channelId, DeliveryStatus outcome) =>
        _deliveries.Add(1, new("chat.channel", channelId), new("chat.outcome", outcome switch
        {
            DeliveryStatus.Sent => "sent",
            DeliveryStatus.Retry => "retry",
            _ => "failed",
        }));

    public void CustomerConnectionClosed() => _closedCustomers.Add(1, new KeyValuePair<string, object?>("chat.reason", "backlog"));

    public void AuditRefusal(string action) => _auditRefusals.Add(1, new KeyValuePair<string, object?>("chat.action", action));

    public void ContactsErased(int contacts) => _retainedContacts.Add(contacts);

    public void MessagesErased(int messages) => _retainedMessages.Add(messages);
}
