using BenchmarkDotNet.Running;

// dotnet run -c Release --project tests/Chat.Benchmarks -- --filter '*'            (full runs)
// dotnet run -c Release --project tests/Chat.Benchmarks -- --filter '*' --job short (quicker, noisier)
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
