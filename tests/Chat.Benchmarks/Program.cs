using BenchmarkDotNet.Running;
using Chat.Benchmarks;

// dotnet run -c Release --project tests/Chat.Benchmarks -- --filter '*'            (BenchmarkDotNet, full runs)
// dotnet run -c Release --project tests/Chat.Benchmarks -- --filter '*' --job short (quicker, noisier)
// dotnet run -c Release --project tests/Chat.Benchmarks -- store-throughput --postgres "Host=...;Username=...;Database=postgres" [--seconds 10] [--rounds 5] [--writers 1,16,256] [--batches 2] [--sqlite no]
// dotnet run -c Release --project tests/Chat.Benchmarks -- append-cpu --postgres "..." [--batch 100] [--connections 2] [--seconds 12] [--rounds 2] [--setup-sql "..."] [--client-ids v4|v7]
if (args.Length > 0 && args[0] == "store-throughput")
{
    return await StoreThroughput.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "append-cpu")
{
    return await AppendCpu.RunAsync(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
