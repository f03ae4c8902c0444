using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using Chat.Benchmarks;
using Chat.Plugins;
using Chat.Runtime.Diagnostics;
using Chat.Runtime.Pipeline;
using Microsoft.Extensions.DependencyInjection;

/// <summary>
/// The cost of one plugin hop through the guarded pipeline, for plugins that complete synchronously.
/// Baseline: the same plugins called directly in a loop, with no guard, no ordering and no metrics.
/// Per-hop overhead = (Pipeline - Direct) / Plugins.
/// </summary>
[MemoryDiagnoser]
public class PipelineHopBenchmarks
{
    private IChannelPlugin[] _raw = [];
    private IMessagePipeline _pipeline = null!;
    private MessageContext _context = null!;
    private ServiceProvider _services = null!;
    private MeterListener? _listener;

    /// <summary>How many plugins the message goes through.</summary>
    [Params(1, 8)]
    public int Plugins { get; set; }

    /// <summary>Whether a metrics listener (an OpenTelemetry exporter, say) is subscribed to the runtime's meter.</summary>
    [Params(false, true)]
    public bool MetricsListening { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection();
        var chat = services.AddChat();
        _raw = new IChannelPlugin[Plugins];
        for (var i = 0; i < Plugins; i++)
        {
            _raw[i] = new NoOpPlugin(i);
        }

        // Eight distinct plugin types, so each hop is a real, separately guarded plugin.
        AddPlugins(chat, Plugins);
        _services = services.BuildServiceProvider();
        _pipeline = _services.GetRequiredService<IMessagePipeline>();
        _context = NoOpPlugin.NewContext();

        if (MetricsListening)
        {
            _listener = new MeterListener
            {
                InstrumentPublished = static (instrument, listener) =>
                {
                    if (instrument.Meter.Name == ChatRuntimeDiagnostics.Name)
                    {
                        listener.EnableMeasurementEvents(instrument);
                    }
                },
            };
            _listener.SetMeasurementEventCallback<double>(static (_, _, _, _) => { });
            _listener.SetMeasurementEventCallback<long>(static (_, _, _, _) => { });
            _listener.Start();
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _listener?.Dispose();
        _services.Dispose();
    }

    [Benchmark(Baseline = true)]
    public ValueTask Direct()
    {
        var raw = _raw;
        for (var i = 0; i < raw.Length; i++)
        {
            var pending = raw[i].OnMessageAsync(_context, CancellationToken.None);
            if (!pending.IsCompletedSuccessfully)
            {
                return pending;
            }

            pending.GetAwaiter().GetResult();
        }

        return default;
    }

    [Benchmark]
    public ValueTask Pipeline() => _pipeline.ExecuteAsync(_context, CancellationToken.None);

    private static void AddPlugins(IChatBuilder chat, int count)
    {
        Action<IChatBuilder>[] adders =
        [
            static c => c.AddPlugin<NoOp0>("p0"), static c => c.AddPlugin<NoOp1>("p1"),
            static c => c.AddPlugin<NoOp2>("p2"), static c => c.AddPlugin<NoOp3>("p3"),
            static c => c.AddPlugin<NoOp4>("p4"), static c => c.AddPlugin<NoOp5>("p5"),
            static c => c.AddPlugin<NoOp6>("p6"), static c => c.AddPlugin<NoOp7>("p7"),
        ];
        for (var i = 0; i < count; i++)
        {
            adders[i](chat);
        }
    }
}
