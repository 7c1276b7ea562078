using RuntimeAuthz.Bench.Policy;

// Benchmarks; run with: dotnet run -c Release --project bench/RuntimeAuthz.Bench -- <name>
var benchmarks = new Dictionary<string, Func<string[], int>>(StringComparer.OrdinalIgnoreCase)
{
    ["policy"] = PolicyBenchmark.Run,
};

if (args.Length == 0 || !benchmarks.TryGetValue(args[0], out var run))
{
    Console.Error.WriteLine($"usage: RuntimeAuthz.Bench <{string.Join("|", benchmarks.Keys)}> [options]");
    Console.Error.WriteLine("  policy [--no-wasm]   our Authorizer vs cedar-wasm at 10..10,000 policies");
    return 2;
}
return run(args[1..]);
