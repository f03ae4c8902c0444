using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Chat.Storage.Internal;

/// <summary>
/// The write path's instruments, on the <c>Chat.Storage</c> meter (shared by the storage packages, compiled into each):
/// <c>chat.store.append.duration</c> (s, from an append's call to its acknowledgement, tagged <c>chat.outcome</c> =
/// stored, duplicate or failed) and <c>chat.store.batch.size</c> (the distinct messages of one batch's round trip),
/// both tagged <c>db.system.name</c>. Nothing is measured while nobody listens.
/// </summary>
internal sealed class StorageMetrics
{
    public const string MeterName = "Chat.Storage";

    private readonly KeyValuePair<string, object?> _system;
    private readonly KeyValuePair<string, object?>[] _stored;
    private readonly KeyValuePair<string, object?>[] _duplicate;
    private readonly KeyValuePair<string, object?>[] _failed;

    public StorageMetrics(IMeterFactory meterFactory, string system)
    {
        var meter = meterFactory.Create(MeterName);
        AppendDuration = meter.CreateHistogram<double>("chat.store.append.duration", "s", "Time from an append's call to its acknowledgement (after the commit).");
        BatchSize = meter.CreateHistogram<int>("chat.store.batch.size", "{message}", "Distinct messages written in one batch's round trip.");
        _system = new("db.system.name", system);
        _stored = [_system, new("chat.outcome", "stored")];
        _duplicate = [_system, new("chat.outcome", "duplicate")];
        _failed = [_system, new("chat.outcome", "failed")];
    }

    public Histogram<double> AppendDuration { get; }

    public Histogram<int> BatchSize { get; }

    /// <summary>A timestamp to measure an append from, or zero when nobody listens.</summary>
    public long Start() => AppendDuration.Enabled ? Stopwatch.GetTimestamp() : 0;

    /// <summary>Records a batch and, for each of its appends that was timed, how long it took and how it ended.</summary>
    public void Record(List<PendingAppend> batch, int distinct)
    {
        if (!BatchSize.Enabled && !AppendDuration.Enabled)
        {
            return;
        }

        BatchSize.Record(distinct, _system);
        var now = Stopwatch.GetTimestamp();
        foreach (var pending in batch)
        {
            if (pending.Started == 0)
            {
                continue;
            }

            var task = pending.Completion.Task;
            var outcome = !task.IsCompletedSuccessfully ? _failed : task.Result.IsDuplicate ? _duplicate : _stored;
            AppendDuration.Record(Stopwatch.GetElapsedTime(pending.Started, now).TotalSeconds, outcome);
        }
    }
}
