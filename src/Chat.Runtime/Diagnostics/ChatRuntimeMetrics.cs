using System.Diagnostics.Metrics;

namespace Chat.Runtime.Diagnostics;

/// <summary>
/// The runtime's instruments, on the <c>Chat.Runtime</c> meter:
/// <c>chat.plugin.duration</c> (s, per plugin), <c>chat.plugin.failures</c> (per plugin and reason:
/// exception or timeout), <c>chat.plugin.skipped</c> (per plugin, circuit open), <c>chat.pipeline.messages</c>
/// (per outcome: passed, stopped, rejected).
/// </summary>
internal sealed class ChatRuntimeMetrics
{
    public ChatRuntimeMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(ChatRuntimeDiagnostics.Name);
        PluginDuration = meter.CreateHistogram<double>("chat.plugin.duration", "s", "Time one plugin took over one message.");
        PluginFailures = meter.CreateCounter<long>("chat.plugin.failures", "{failure}", "Plugin invocations that threw or overran their time budget.");
        PluginSkipped = meter.CreateCounter<long>("chat.plugin.skipped", "{message}", "Messages a plugin was skipped for because its circuit was open.");
        PipelineMessages = meter.CreateCounter<long>("chat.pipeline.messages", "{message}", "Messages that went through the pipeline.");
    }

    public Histogram<double> PluginDuration { get; }

    public Counter<long> PluginFailures { get; }

    public Counter<long> PluginSkipped { get; }

    public Counter<long> PipelineMessages { get; }
}
