using System.Collections.Concurrent;
using Chat.Runtime.Ids;
using Microsoft.Extensions.Time.Testing;

namespace Chat.Runtime.Tests.Ids;

public sealed class SnowflakeIdGeneratorTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 11, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Ids_carry_their_time_worker_and_sequence()
    {
        var time = new FakeTimeProvider(Start);
        var generator = new SnowflakeIdGenerator(37, TimeSpan.FromSeconds(2), time);

        var first = generator.NextId();
        var second = generator.NextId();

        Assert.Equal((Start, 37, 0), SnowflakeIdGenerator.Decode(first));
        Assert.Equal((Start, 37, 1), SnowflakeIdGenerator.Decode(second));
        Assert.True(first > 0);
    }

    [Fact]
    public void Concurrent_callers_get_unique_increasing_ids()
    {
        var generator = new SnowflakeIdGenerator(1, TimeSpan.FromSeconds(2), TimeProvider.System);
        const int Threads = 8;
        const int PerThread = 50_000;
        var all = new ConcurrentBag<long[]>();

        Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, _ =>
        {
            var ids = new long[PerThread];
            for (var i = 0; i < ids.Length; i++)
            {
                ids[i] = generator.NextId();
            }

            all.Add(ids);
        });

        foreach (var ids in all)
        {
            for (var i = 1; i < ids.Length; i++)
            {
                Assert.True(ids[i] > ids[i - 1], "ids from one thread must increase");
            }
        }

        Assert.Equal(Threads * PerThread, all.SelectMany(ids => ids).Distinct().Count());
    }

    [Fact]
    public void More_than_4096_ids_in_one_millisecond_wait_for_the_next_millisecond()
    {
        var time = new SteppingTimeProvider(Start, stepAfterCalls: 5000);
        var generator = new SnowflakeIdGenerator(0, TimeSpan.FromSeconds(2), time);

        var ids = Enumerable.Range(0, 4097).Select(_ => generator.NextId()).ToArray();

        Assert.Equal((Start, 0, 4095), SnowflakeIdGenerator.Decode(ids[4095]));
        Assert.Equal((Start.AddMilliseconds(1), 0, 0), SnowflakeIdGenerator.Decode(ids[4096]));
    }

    [Fact]
    public async Task A_small_clock_step_back_is_waited_out()
    {
        var time = new SettableTimeProvider(Start);
        var generator = new SnowflakeIdGenerator(0, TimeSpan.FromSeconds(2), time);
        var before = generator.NextId();
        time.SetUtcNow(Start.AddMilliseconds(-500));

        var waiting = Task.Run(generator.NextId);
        await Task.Delay(50);
        Assert.False(waiting.IsCompleted);
        time.SetUtcNow(Start.AddMilliseconds(1));

        var after = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(after > before);
    }

    [Fact]
    public void A_large_clock_step_back_fails_clearly()
    {
        var time = new SettableTimeProvider(Start);
        var generator = new SnowflakeIdGenerator(0, TimeSpan.FromSeconds(2), time);
        generator.NextId();
        time.SetUtcNow(Start.AddSeconds(-10));

        var ex = Assert.Throws<InvalidOperationException>(() => generator.NextId());

        Assert.StartsWith("The system clock moved back by 10000 ms, more than Chat:Ids:MaxClockStepBack (2000 ms).", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1024)]
    public void A_worker_number_outside_10_bits_is_refused(int workerId)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SnowflakeIdGenerator(workerId, TimeSpan.Zero, TimeProvider.System));
    }

    /// <summary>A clock a test can set anywhere, backwards too (FakeTimeProvider refuses to go back).</summary>
    private sealed class SettableTimeProvider(DateTimeOffset start) : TimeProvider
    {
        private long _ticks = start.UtcTicks;

        public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

        public void SetUtcNow(DateTimeOffset value) => Interlocked.Exchange(ref _ticks, value.UtcTicks);
    }

    /// <summary>A clock that stands still for a number of reads, then moves on one millisecond.</summary>
    private sealed class SteppingTimeProvider(DateTimeOffset start, int stepAfterCalls) : TimeProvider
    {
        private int _calls;

        public override DateTimeOffset GetUtcNow() => ++_calls > stepAfterCalls ? start.AddMilliseconds(1) : start;
    }
}
