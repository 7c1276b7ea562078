using RuntimeAuthz.Bench.Chaos;
using RuntimeAuthz.Bench.ClusterClient;
using RuntimeAuthz.Bench.Evidence;
using RuntimeAuthz.Bench.Fleet;
using RuntimeAuthz.Bench.Gateway;
using RuntimeAuthz.Bench.Http;
using RuntimeAuthz.Bench.Memory;
using RuntimeAuthz.Bench.Patterns;
using RuntimeAuthz.Bench.Delegation;
using RuntimeAuthz.Bench.Policy;
using RuntimeAuthz.Bench.Temporal;
using RuntimeAuthz.Bench.WhatIf;

// Benchmarks; run with: dotnet run -c Release --project bench/RuntimeAuthz.Bench -- <name>
var benchmarks = new Dictionary<string, Func<string[], int>>(StringComparer.OrdinalIgnoreCase)
{
    ["policy"] = PolicyBenchmark.Run,
    ["temporal"] = TemporalBenchmark.Run,
    ["revoke"] = RevokeBenchmark.Run,
    ["evidence"] = EvidenceBenchmark.Run,
    ["evidence-seal"] = EvidenceSealBenchmark.Run,
    ["evidence-append"] = EvidenceAppendBenchmark.Run,
    ["azurite-rows"] = AzuriteRowCostBenchmark.Run,
    ["http"] = HttpBenchmark.Run,
    ["cluster-client"] = ClusterClientBenchmark.Run,
    ["agents"] = AgentsBenchmark.Run,
    ["sessions-search"] = SessionSearchBenchmark.Run,
    ["gateway"] = GatewayBenchmark.Run,
    ["chaos"] = ChaosBenchmark.Run,
    ["memory"] = MemoryBenchmark.Run,
    ["patterns"] = PatternBenchmark.Run,
    ["what-if"] = WhatIfBenchmark.Run,
};

if (args.Length == 0 || !benchmarks.TryGetValue(args[0], out var run))
{
    Console.Error.WriteLine($"usage: RuntimeAuthz.Bench <{string.Join("|", benchmarks.Keys)}> [options]");
    Console.Error.WriteLine("  policy [--no-wasm]   our Authorizer vs cedar-wasm at 10..10,000 policies");
    Console.Error.WriteLine("  temporal             session decisions with 10 temporal policies at 10, 1,000, 100,000 past events");
    Console.Error.WriteLine("  what-if [--decisions 100000] [--per-session 100]   recorded decisions re-decided per second by a candidate (in memory)");
    Console.Error.WriteLine("  revoke [--sessions 1000] [--cycles 60] [--deciders 16] [--no-evidence]   revoke-call latency with N active sessions of the agent (starts Azurite)");
    Console.Error.WriteLine("  evidence [--seconds 10] [--sessions 64]   decisions/s and cost per decision with evidence on and off (starts Azurite)");
    Console.Error.WriteLine("  evidence-seal [--iterations 20000]   CPU per record of sealing steps (canonical body, SHA-256, ECDSA P-256) and of one signature per batch");
    Console.Error.WriteLine("  evidence-append [--seconds 6] [--writers 32] [--rounds 1] [--config P:I:B ...]   the evidence write alone on Azurite: partitions, requests in flight, signature per record or batch");
    Console.Error.WriteLine("  azurite-rows [--seconds 6] [--writers 8] [--records-per-batch 16] [--record-chars N] [--azurite-in-memory]   Azurite's CPU per record with 1, 2, 4, 8, 16 records per entity");
    Console.Error.WriteLine("  http [--seconds 20] [--prime 45] [--warmup 3] [--rounds 2] [--sessions 64] [--connections 32] [--threads 2] [--no-evidence]");
    Console.Error.WriteLine("                       [--evidence-partitions 4]");
    Console.Error.WriteLine("                       decisions over HTTP (wrk) against Cerbos 0.55 with and without decision log, alternating (starts Azurite, a silo process, Cerbos)");
    Console.Error.WriteLine("  http --history [--history-decisions 10000] [--seconds 10] [--rounds 2]   p50 in a session with N earlier decisions vs one with 10 (wrk -c1)");
    Console.Error.WriteLine("  http --opens [--agents 100] [--connections 32] [--warmup 2] [--seconds 10] [--count-storage]   sessions opened per second over HTTP (POST /v1/sessions)");
    Console.Error.WriteLine("  cluster-client [--seconds 20] [--warmup 30] [--sessions 64] [--rounds 1]   decisions through grain calls from a cluster client, evidence off and on");
    Console.Error.WriteLine("  gateway [--calls 500] [--warmup 50]   added latency per MCP tool call through the gateway vs the npm filesystem server directly (starts Azurite, a silo, the gateway)");
    Console.Error.WriteLine("  agents [--agents 10000] [--parallel 32] [--page 1000] [--minutes 0] [--list-minutes 0] [--on-disk]");
    Console.Error.WriteLine("                       registers N agents (1,000,000 works) through the grains, then pages through GET /v1/agents (Azurite in memory unless --on-disk)");
    Console.Error.WriteLine("  sessions-search [--sessions 1000000] [--agents 10000] [--fleets 20] [--days 7] [--parallel 16] [--repeats 20] [--deep-pages 50] [--minutes 0] [--on-disk]");
    Console.Error.WriteLine("                       seeds N sessions' index rows into Azurite (batch transactions), times typical GET /v1/sessions searches on a silo process");
    Console.Error.WriteLine("  chaos [--silos 3] [--sessions 32] [--before 10] [--fault 10] [--after 10] [--latency-ms 100] [--scenario KillBusiestSilo|KillHotAgentSilo|StorageStall|StorageRestart|SlowStorage]");
    Console.Error.WriteLine("                       fault scenarios on silo processes under HTTP load, answers matched to evidence (starts Azurite and the silos)");
    Console.Error.WriteLine("  memory [--sessions 20000] [--sessions-1k 200] [--sessions-10k 200] [--busy 200] [--evidence-off] [--temporal] [--hold-seconds 0]   heap and working set per active session with 0, 1,000, 10,000 decisions");
    Console.Error.WriteLine("  patterns [--ms 200]  matching time of the worst grant globs and Cedar like patterns allowed, by id length");
    return 2;
}
return run(args[1..]);
