using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Chat.Client;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.LoadTest;

/// <summary>One load process: opens customer (and agent) connections, waits for GO, drives messages, prints RESULT.</summary>
internal static class Driver
{
    /// <summary>
    /// Each connection negotiates over HTTP before its WebSocket opens; that HTTP connection would then idle in the
    /// pool, doubling the sockets of both sides (a process may open 20,000 files here). It is closed after a second.
    /// </summary>
    private static void Configure(Microsoft.AspNetCore.Http.Connections.Client.HttpConnectionOptions http) =>
        http.HttpMessageHandlerFactory = _ => new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromSeconds(1) };

    /// <summary>
    /// Touches <paramref name="megabytes"/> of the first generation before the traffic, then collects it: the collector
    /// keeps the regions it freed (the generation's budget is 1 GiB in a paced run, see the orchestrator), so the measured
    /// window allocates into memory the process has touched already. On this machine kind the first touch of a page costs
    /// about 14 µs (200 MB of small arrays took about 700 ms on fresh memory and 10 to 30 ms on touched memory), and
    /// the customers' process of a latency run spent about a fifth of its CPU in page faults, cores the servers under
    /// test share.
    /// </summary>
    private static void PreTouch(int megabytes)
    {
        if (megabytes <= 0)
        {
            return;
        }

        // Small arrays of 8 KiB each with their header (the first generation's regions, not the large-object heap), each
        // kept until 63 more are made.
        const int ObjectBytes = 8192;
        var recent = new byte[64][];
        var count = (long)megabytes * 1024 * 1024 / ObjectBytes;
        for (var i = 0L; i < count; i++)
        {
            recent[i & 63] = new byte[ObjectBytes - 24];
        }

        GC.KeepAlive(recent);
        GC.Collect(0, GCCollectionMode.Forced, blocking: true);
    }

    public static async Task<int> RunAsync(Args args)
    {
        var url = args.Get("url", "http://127.0.0.1:5080");
        var kind = args.Get("kind", "chat");
        var customerCount = args.GetInt("customers", 100);
        var agentCount = args.GetInt("agents", 1);
        var rate = args.GetInt("rate", 0);
        var seconds = args.GetInt("seconds", 10);
        var id = args.Get("id", "0");

        // Each round of a run has customers and agents of its own, so a later round finds no conversation, assignment or
        // platform message id of an earlier one in the Chat database (its agents would read the earlier messages from
        // history, and the same platform message ids would be taken for a platform's retries).
        var run = args.Get("run", "1");
        var messagePack = args.Get("protocol", "json") == "messagepack";
        var viaWebhook = args.Get("via", "hub") == "webhook";
        var agentCapacity = args.GetInt("agent-capacity", 0);
        var agentsHearAll = args.Get("agents-hear", "all") == "all";
        HubConnection Bare() => (messagePack
            ? new HubConnectionBuilder().WithUrl(url + "/bare", Configure).AddMessagePackProtocol()
            : new HubConnectionBuilder().WithUrl(url + "/bare", Configure)).Build();

        var latencies = new LatencyHistogram(); // the agents' process: from each send to its receipt
        var ackLatencies = new LatencyHistogram(); // a customers' process: from each send to its answer
        var slow = new ConcurrentQueue<(double SentAtSecond, double Latency)>();
        long received = 0, sent = 0, acked = 0;
        long heardAll = 0, lastLatencyMicros = 0; // every message heard, warm-up's too, and how late the last one came
        var start = long.MaxValue;

        // Whether a message sent at sentAt counts: the measured window starts at "start", which this process learns from
        // its MEASURE line. On a saturated machine that line can be read after the moment it names, and what was sent or
        // heard meanwhile waits here until the start is known (a customers' process would otherwise leave out sends that
        // the agents' process counts, and report more messages heard than sent).
        var undecided = new ConcurrentQueue<(long SentAt, Counted What, double Latency)>();
        bool Counts(long sentAt, Counted what, double latency = 0)
        {
            var from = Volatile.Read(ref start);
            if (from == long.MaxValue)
            {
                undecided.Enqueue((sentAt, what, latency));
                return false;
            }

            return sentAt >= from;
        }

        void CountReceived(long sentAt, double latency)
        {
            Interlocked.Increment(ref received);
            latencies.Record(latency);
            if (latency > 50)
            {
                slow.Enqueue((Stopwatch.GetElapsedTime(Volatile.Read(ref start), sentAt).TotalSeconds, latency));
            }
        }

        // Once the start is known: counts what waited for it.
        void Decide()
        {
            var from = Volatile.Read(ref start);
            while (from != long.MaxValue && undecided.TryDequeue(out var e))
            {
                if (e.SentAt < from)
                {
                    continue;
                }

                switch (e.What)
                {
                    case Counted.Sent:
                        Interlocked.Increment(ref sent);
                        break;
                    case Counted.Acknowledged:
                        Interlocked.Increment(ref acked);
                        ackLatencies.Record(e.Latency);
                        break;
                    default:
                        CountReceived(e.SentAt, e.Latency);
                        break;
                }
            }
        }

        void OnReceived(string content)
        {
            if (content.StartsWith("t:", StringComparison.Ordinal) && long.TryParse(content.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out var sentAt))
            {
                var latency = Stopwatch.GetElapsedTime(sentAt).TotalMilliseconds;
                Interlocked.Increment(ref heardAll);
                Volatile.Write(ref lastLatencyMicros, (long)(latency * 1000));
                if (Counts(sentAt, Counted.Received, latency))
                {
                    CountReceived(sentAt, latency);
                }
            }
        }

        var disposables = new ConcurrentBag<IAsyncDisposable>();
        for (var a = 0; a < agentCount; a++)
        {
            if (kind == "bare")
            {
                var connection = Bare();
                connection.On<string>("MessageReceived", OnReceived);
                await connection.StartAsync();
                await connection.InvokeAsync("Join", "agents");
                disposables.Add(connection);
            }
            else
            {
                var agentId = $"agent-{run}-{id}-{a}";
                // Agents that hear every message hear each conversation from its start, and the client reads what lies
                // before the first message it hears of one from its history, as an agent's would: two pushes of one
                // platform user stored in one batch can reach the agents' feed in either order, and the later one heard
                // first would otherwise leave the earlier one undelivered. Agents that hear their own conversations
                // measure the live path only: one given to an agent mid-way is not read back (what was sent while it
                // waited in the queue reached nobody live, and would count with the whole wait).
                var agent = new AgentChatClient(new ChatClientOptions
                {
                    HubUrl = new Uri(url + "/chat/agent"),
                    AccessTokenProvider = () => Task.FromResult<string?>(Server.AgentToken(agentId)),
                    ConfigureHttpConnection = Configure,
                    UseMessagePack = messagePack,
                    CatchUpNewConversations = agentsHearAll,
                });
                agent.MessageReceived += m =>
                {
                    OnReceived(m.Content);
                    return Task.CompletedTask;
                };
                await agent.StartAsync();
                // Away by default: every conversation stays queued. Online with places: each agent is given that many
                // conversations and the rest wait in the queue, as at a peak when every agent is busy.
                await agent.SetPresenceAsync(agentCapacity > 0 ? Protocol.AgentPresence.Online : Protocol.AgentPresence.Away, agentCapacity);
                disposables.Add(agent);
            }
        }

        // Customers: each a function that sends one message and completes when it is acknowledged.
        var senders = new Func<string, Task>[customerCount];
        using var platform = new HttpClient(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30) });
        using var gate = new SemaphoreSlim(200);
        await Task.WhenAll(Enumerable.Range(0, customerCount).Select(async c =>
        {
            await gate.WaitAsync();
            try
            {
                var customerId = $"customer-{run}-{id}-{c}";
                if (viaWebhook)
                {
                    // A platform user: each message a signed push, answered once it is taken (for Chat, once stored).
                    var pushUrl = new Uri(kind == "bare" ? url + "/bare/webhook" : url + "/chat/channels/load/webhook");
                    var n = 0;
                    senders[c] = async content =>
                    {
                        var body = Webhooks.Push(customerId, $"{customerId}-{Interlocked.Increment(ref n)}", content);
                        using var push = new HttpRequestMessage(HttpMethod.Post, pushUrl) { Content = new ByteArrayContent(body) };
                        push.Headers.Add(Webhooks.SignatureHeader, Webhooks.Sign(body));
                        using var response = await platform.SendAsync(push);
                        response.EnsureSuccessStatusCode();
                    };
                }
                else if (kind == "bare")
                {
                    var connection = Bare();
                    await connection.StartAsync();
                    await connection.InvokeAsync("Join", "c:" + customerId); // as a Chat customer joins its conversation's group, for replies
                    senders[c] = content => connection.InvokeAsync<long>("Send", content);
                    disposables.Add(connection);
                }
                else
                {
                    var customer = new CustomerChatClient(new ChatClientOptions { HubUrl = new Uri(url + "/chat/customer"), AccessTokenProvider = () => Task.FromResult<string?>(Server.VisitorToken(customerId)), ConfigureHttpConnection = Configure, UseMessagePack = messagePack });
                    await customer.StartAsync();
                    await customer.StartConversationAsync();
                    senders[c] = content => customer.SendTextAsync(content);
                    disposables.Add(customer);
                }
            }
            finally
            {
                gate.Release();
            }
        }));

        // What opening thousands of connections left behind is collected now, and what lives on (the connections
        // themselves) is compacted into the oldest generation: otherwise the first collections of the measured window
        // promote it, which paused a customers' process for 200 to 600 ms at a time, a load generator's own set-up
        // charged to the messages in flight through it.
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        PreTouch(args.GetInt("pretouch-mb", 0));
        Console.WriteLine($"CONNECTED {customerCount + agentCount}");
        // "GO <timestamp>": every process starts its traffic at the same moment of the machine's monotonic clock.
        var goLine = await StandardInputLines.ReadLineAsync();
        if (goLine is null || !goLine.StartsWith("GO ", StringComparison.Ordinal))
        {
            return 1;
        }

        var go = long.Parse(goLine.AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture);
        var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), go);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }

        // Traffic starts now; what is sent during the warm-up (JIT, pools, caches) is not measured. The orchestrator
        // ends the warm-up for every process at once ("MEASURE <timestamp>") once the compilers are quiet (each process
        // reports how long it compiled in each second); later it tells the agents' process how many messages the
        // customers' processes had acknowledged ("EXPECT <n>").
        long errors = 0;
        var deadline = long.MaxValue;
        var measuring = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var expected = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reporting = Compilation.ReportAsync(measuring.Task);
        var pauses = new GcWindow();
        _ = Task.Run(async () =>
        {
            while (await StandardInputLines.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("MEASURE ", StringComparison.Ordinal))
                {
                    var at = long.Parse(line.AsSpan(8), NumberStyles.None, CultureInfo.InvariantCulture);
                    var end = at + (seconds * Stopwatch.Frequency);
                    Volatile.Write(ref deadline, end);
                    Volatile.Write(ref start, at);
                    Decide();
                    pauses.Measure(at, end);
                    measuring.TrySetResult();
                }
                else if (line.StartsWith("EXPECT ", StringComparison.Ordinal))
                {
                    expected.TrySetResult(long.Parse(line.AsSpan(7), NumberStyles.None, CultureInfo.InvariantCulture));
                }
            }

            // The orchestrator is gone: stop now.
            var now = Stopwatch.GetTimestamp();
            Volatile.Write(ref deadline, now);
            if (Volatile.Read(ref start) == long.MaxValue)
            {
                Volatile.Write(ref start, now);
            }

            Decide();
            pauses.Measure(Volatile.Read(ref start), now);
            measuring.TrySetResult();
            expected.TrySetResult(0);
        });

        async Task SendOne(int c)
        {
            var sentAt = Stopwatch.GetTimestamp();
            if (Counts(sentAt, Counted.Sent))
            {
                Interlocked.Increment(ref sent);
            }

            try
            {
                await senders[c]("t:" + sentAt.ToString(CultureInfo.InvariantCulture));
                var ackLatency = Stopwatch.GetElapsedTime(sentAt).TotalMilliseconds;
                if (Counts(sentAt, Counted.Acknowledged, ackLatency))
                {
                    Interlocked.Increment(ref acked);
                    ackLatencies.Record(ackLatency);
                }
            }
            catch (Exception)
            {
                Interlocked.Increment(ref errors);
            }
        }

        if (customerCount == 0)
        {
            // The agents' process: listen for as long as the customers send, and show progress once a second.
            var lastHeard = 0L;
            for (var second = 1; Stopwatch.GetTimestamp() < Volatile.Read(ref deadline); second++)
            {
                // A second, or to the deadline in whole milliseconds (a shorter wait returns at once, and the loop would
                // go round printing until the deadline).
                var untilDeadline = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), Volatile.Read(ref deadline));
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Clamp(Math.Ceiling(untilDeadline.TotalMilliseconds), 1, 1000)));
                var nowHeard = Interlocked.Read(ref heardAll);
                var phase = Stopwatch.GetTimestamp() - Volatile.Read(ref start) >= Stopwatch.Frequency ? "measured" : "warm-up";
                // Heard counts the warm-up's messages too, and the last one's lateness shows a hub that fell behind.
                Console.WriteLine(FormattableString.Invariant(
                    $"{phase} {second,3} s: {nowHeard - lastHeard,8:N0} messages heard in the last second (the last {Volatile.Read(ref lastLatencyMicros) / 1000.0:F0} ms after it was sent), {Interlocked.Read(ref received):N0} measured so far"));
                lastHeard = nowHeard;
            }
        }
        else if (rate <= 0)
        {
            // As fast as possible: every customer sends, awaits the acknowledgement, sends again.
            await Task.WhenAll(Enumerable.Range(0, customerCount).Select(async c =>
            {
                while (Stopwatch.GetTimestamp() < Volatile.Read(ref deadline))
                {
                    await SendOne(c);
                }
            }));
        }
        else
        {
            // Open loop at the given rate, round-robin over the customers. What is in flight is counted, not kept: a list
            // of every send's task (a hundred thousand in a 20-second run) grew with the run's length, each task kept
            // alive to the end and carried through the process's collections.
            var next = 0;
            long issued = 0;
            long inFlight = 1; // the loop's own hold, let go once it has issued the last send
            var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            async Task SendCounted(int c)
            {
                await SendOne(c);
                if (Interlocked.Decrement(ref inFlight) == 0)
                {
                    drained.TrySetResult();
                }
            }

            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(5));
            while (Stopwatch.GetTimestamp() < Volatile.Read(ref deadline) && await timer.WaitForNextTickAsync())
            {
                var due = (long)(Stopwatch.GetElapsedTime(go).TotalSeconds * rate);
                for (; issued < due; issued++)
                {
                    Interlocked.Increment(ref inFlight);
                    _ = SendCounted(next);
                    next = (next + 1) % customerCount;
                }
            }

            if (Interlocked.Decrement(ref inFlight) == 0)
            {
                drained.TrySetResult();
            }

            await drained.Task;
        }

        await reporting;
        Decide(); // what raced with learning the start (enqueued just as it was decided); nothing is undecided after this
        // The measured window: what was sent in it counts, whenever its answer came.
        var elapsed = Stopwatch.GetElapsedTime(Volatile.Read(ref start), Math.Min(Stopwatch.GetTimestamp(), Volatile.Read(ref deadline))).TotalSeconds;
        if (customerCount == 0)
        {
            // The agents' process waits for the last messages: once the customers' processes are done, the
            // orchestrator says how many they had acknowledged ("EXPECT <n>"), and the agents listen until they have
            // heard that many, or until nothing more has come for ten seconds (agents that do not hear every message,
            // or a message lost, which the result then shows).
            var expectedCount = await expected.Task;
            var (heard, quietSince, waitingSince) = (Interlocked.Read(ref received), Stopwatch.GetTimestamp(), Stopwatch.GetTimestamp());
            while (heard < expectedCount && Stopwatch.GetElapsedTime(quietSince) < TimeSpan.FromSeconds(10) && Stopwatch.GetElapsedTime(waitingSince) < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(50);
                var now = Interlocked.Read(ref received);
                if (now != heard)
                {
                    (heard, quietSince) = (now, Stopwatch.GetTimestamp());
                }
            }
        }
        else
        {
            await Task.Delay(2000); // let the last messages reach the agents before the connections close
        }

        if (!slow.IsEmpty)
        {
            // When the slow messages were sent: a stall shows as one burst, a steady tail as a spread.
            // The ten quarter-seconds with the most, in time order.
            Console.WriteLine($"slow (> 50 ms): {slow.Count:N0} messages; the worst quarter-seconds by send time: " + string.Join(", ", slow.GroupBy(x => Math.Floor(x.SentAtSecond * 4) / 4)
                .OrderByDescending(g => g.Count()).Take(10).OrderBy(g => g.Key).Select(g => FormattableString.Invariant($"{g.Key:F2}s x{g.Count()} max {g.Max(x => x.Latency):F0}ms"))));
        }

        var gc = await pauses.Result;
        Console.WriteLine("RESULT " + JsonSerializer.Serialize(new Result(sent, acked, errors, Interlocked.Read(ref received), elapsed, latencies.Percentile(0.5), latencies.Percentile(0.99), latencies.MaxMs, gc.PauseMs, gc.Collections, gc.AllocatedBytes,
            AckP50: ackLatencies.Percentile(0.5), AckP99: ackLatencies.Percentile(0.99))));
        foreach (var d in disposables)
        {
            await d.DisposeAsync();
        }

        return 0;
    }
}

/// <summary>What a load process counts of a message in the measured window.</summary>
internal enum Counted
{
    Sent,
    Acknowledged,
    Received,
}

/// <param name="GcPauseMs">How long the process's garbage collector paused it in the measured window (<see cref="GcWindow"/>).</param>
/// <param name="Collections">In how many collections.</param>
/// <param name="AllocatedBytes">How many bytes the process allocated in the measured window.</param>
/// <param name="AckP50">A customers' process: the median time from a send to its answer (the message stored), in milliseconds.</param>
/// <param name="AckP99">Its 99th percentile: beside the agents' p99, it tells a stall before the store's commit from one after it.</param>
internal sealed record Result(long Sent, long Acked, long Errors, long Received, double Seconds, double P50, double P99, double Max, double GcPauseMs = 0, int Collections = 0,
    long AllocatedBytes = 0, double AckP50 = 0, double AckP99 = 0);
