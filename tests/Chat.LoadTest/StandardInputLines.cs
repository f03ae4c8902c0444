using System.Threading.Channels;

namespace Chat.LoadTest;

/// <summary>
/// The orchestrator's lines on standard input, read on a thread of their own. <c>Console.In.ReadLineAsync</c> reads
/// synchronously on the calling thread, so a loop awaiting it held a thread-pool thread for the whole run: a process on
/// two cores then had one pool thread left to work with until the pool noticed and added threads, which it does slowly,
/// at the start of the traffic when the process is coldest.
/// </summary>
internal static class StandardInputLines
{
    private static readonly Lazy<ChannelReader<string>> Lines = new(Start);

    /// <summary>The next line, or null once standard input has closed (the orchestrator is gone).</summary>
    public static async ValueTask<string?> ReadLineAsync()
    {
        var lines = Lines.Value;
        while (await lines.WaitToReadAsync().ConfigureAwait(false))
        {
            if (lines.TryRead(out var line))
            {
                return line;
            }
        }

        return null;
    }

    private static ChannelReader<string> Start()
    {
        var channel = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleWriter = true });
        new Thread(() =>
        {
            while (Console.In.ReadLine() is { } line)
            {
                channel.Writer.TryWrite(line);
            }

            channel.Writer.TryComplete();
        })
        { IsBackground = true, Name = "stdin" }.Start();
        return channel.Reader;
    }
}
