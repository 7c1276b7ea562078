using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using RuntimeAuthz.Evidence;

namespace RuntimeAuthz.Bench.Evidence;

/// <summary>
/// What sealing one evidence record costs on this machine, step by step, on one thread: the canonical
/// body, its SHA-256, the ECDSA P-256 signature, and the table entity; then what a signature over a
/// batch manifest costs per record at a few batch sizes. CPU time of the process per operation
/// (the bench runs single-threaded, so it is this thread's time plus a little GC).
/// </summary>
public static class EvidenceSealBenchmark
{
    public static int Run(string[] args)
    {
        var iterations = BenchSupport.ArgValue(args, "--iterations", 20_000);
        using var key = EvidenceSigningKey.Generate();
        var body = SampleBody();
        var canonical = EvidenceSealer.CanonicalBody(body);
        var head = new EvidenceHead(41, EvidenceSealer.HashOf("previous"));
        Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, commit {BenchSupport.GitCommit(RepoPaths.Root)}, load average {BenchSupport.LoadAverage()}; "
            + $"{iterations} iterations per row, one thread; record body {Encoding.UTF8.GetByteCount(canonical)} bytes");
        Console.WriteLine("| step | µs per record (CPU) | µs per record (wall) |");
        Console.WriteLine("| --- | ---: | ---: |");
        Row("canonical body (RFC 8785, written directly)", iterations, () => EvidenceSealer.CanonicalBody(body));
        Row("SHA-256 of the body", iterations, () => EvidenceSealer.HashOf(canonical));
        Row("ECDSA P-256 signature of the body", iterations, () => key.Sign(canonical));
        Row("whole seal, one signature per record", iterations, () => EvidenceSealer.Seal(body, head, key));
        Row("whole seal without a signature", iterations, () => EvidenceSealer.SealUnsigned(body, head, key.KeyId));
        foreach (var size in new[] { 4, 16, 64 })
        {
            var entries = Enumerable.Range(0, size).Select(i => EvidenceSealer.SealUnsigned(body with { Chain = "session:s" + i.ToString(CultureInfo.InvariantCulture) }, head, key.KeyId)).ToArray();
            Row($"batch of {size} records: one signature over the Merkle root, paths", iterations / size, () => EvidenceBatchSeal.Sign(entries, key), size);
        }
        return 0;
    }

    private static void Row(string step, int iterations, Func<object> work, int recordsPerCall = 1)
    {
        // Warm-up long enough for tiered JIT to finish with this code (its compile time would count as CPU otherwise).
        for (var i = 0; i < Math.Max(200, iterations / 4); i++) GC.KeepAlive(work());
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        for (var i = 0; i < iterations; i++) GC.KeepAlive(work());
        wall.Stop();
        var cpuUsed = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        var records = (double)iterations * recordsPerCall;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {step} | {cpuUsed.TotalMicroseconds / records:0.00} | {wall.Elapsed.TotalMicroseconds / records:0.00} |"));
    }

    /// <summary>A decision record of the size `bench http` writes (AuthZEN context with a session id, small input).</summary>
    internal static EvidenceBody SampleBody() => new()
    {
        Chain = EvidenceChains.ForSession("3f0c5a0e9b6d4d7e8f1a2b3c4d5e6f70"),
        Time = EvidenceSealer.FormatTime(DateTimeOffset.UtcNow),
        DecisionId = Guid.NewGuid().ToString(),
        AgentId = "bench-agent",
        SessionId = "3f0c5a0e9b6d4d7e8f1a2b3c4d5e6f70",
        Action = "read_file",
        Resource = "Document::\"doc-1\"",
        InputDigest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData("input"u8)),
        Input = """{"action":"read_file","agentId":"bench-agent","context":{"session_id":"3f0c5a0e9b6d4d7e8f1a2b3c4d5e6f70"},"input":{"path":"/reports/q3.pdf"},"resource":{"id":"doc-1","properties":{"fleet":"research"},"type":"Document"}}""",
        Outcome = "Allow",
        DeterminingPolicies = ["policy0"],
        PolicyVersion = 1,
        EntityStoreVersion = 0,
    };
}
