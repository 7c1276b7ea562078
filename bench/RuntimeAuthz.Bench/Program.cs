using RuntimeAuthz.Bench.Evidence;
using RuntimeAuthz.Bench.Delegation;
using RuntimeAuthz.Bench.Policy;
using RuntimeAuthz.Bench.Temporal;

// Benchmarks; run with: dotnet run -c Release --project bench/RuntimeAuthz.Bench -- <name>
var benchmarks = new Dictionary<string, Func<string[], int>>(StringComparer.OrdinalIgnoreCase)
{
    ["policy"] = PolicyBenchmark.Run,
    ["temporal"] = TemporalBenchmark.Run,
    ["revoke"] = RevokeBenchmark.Run,
    ["evidence"] = EvidenceBenchmark.Run,
};

if (args.Length == 0 || !benchmarks.TryGetValue(args[0], out var run))
{
    Console.Error.WriteLine($"usage: RuntimeAuthz.Bench <{string.Join("|", benchmarks.Keys)}> [options]");
    Console.Error.WriteLine("  policy [--no-wasm]   our Authorizer vs cedar-wasm at 10..10,000 policies");
    Console.Error.WriteLine("  temporal             session decisions with 10 temporal policies at 10, 1,000, 100,000 past events");
    Console.Error.WriteLine("  revoke [--sessions 1000] [--cycles 60] [--deciders 16] [--no-evidence]   revoke-call latency with N active sessions of the agent (starts Azurite)");
    Console.Error.WriteLine("  evidence [--seconds 10] [--sessions 64]   decisions/s and cost per decision with evidence on and off (starts Azurite)");
    return 2;
}
return run(args[1..]);
