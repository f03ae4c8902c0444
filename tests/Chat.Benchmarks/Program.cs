using BenchmarkDotNet.Running;
using Chat.Benchmarks;

// dotnet run -c Release --project tests/Chat.Benchmarks -- --filter '*'            (BenchmarkDotNet, full runs)
// dotnet run -c Release --project tests/Chat.Benchmarks -- --filter '*' --job short (quicker, noisier)
// dotnet run -c Release --project tests/Chat.Benchmarks -- store-throughput --postgres "Host=...;Username=...;Database=postgres" [--seconds 10]
if (args.Length > 0 && args[0] == "store-throughput")
{
    return await StoreThroughput.RunAsync(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
