using System.Diagnostics;
using System.Globalization;
using RuntimeAuthz.Evidence;

namespace RuntimeAuthz.Bench.Evidence;

/// <summary>
/// The durable evidence write alone, against Azurite: W writers, each appending decision records to its
/// chains one at a time (as a session does), through the Azure Table evidence store with a given partition
/// count, requests in flight per partition, and per-record or per-batch signatures. Prints records/s, append
/// latency, CPU per record of this process (sealing, signing, the Azure SDK's request building) and of
/// Azurite, and records per storage request. Configurations alternate, each on its own table.
/// </summary>
public static class EvidenceAppendBenchmark
{
    private sealed record Configuration(string Name, int Partitions, int InFlight, int BatchWhileBusy, bool BatchSignature);

    public static int Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(string[] args)
    {
        var seconds = BenchSupport.ArgValue(args, "--seconds", 6);
        var writers = BenchSupport.ArgValue(args, "--writers", 32);
        var rounds = BenchSupport.ArgValue(args, "--rounds", 1);
        Configuration[] configurations =
        [
            new("before: 4 partitions, 1 request in flight, a signature per record", 4, 1, AzureTableEvidenceStore.MaxBatch, false),
            new("4 partitions, 1 in flight, a signature per batch", 4, 1, AzureTableEvidenceStore.MaxBatch, true),
            new($"4 partitions, {AzureTableEvidenceStore.DefaultRequestsInFlightPerPartition} in flight ({AzureTableEvidenceStore.DefaultBatchWhileBusy} while busy), per batch", 4,
                AzureTableEvidenceStore.DefaultRequestsInFlightPerPartition, AzureTableEvidenceStore.DefaultBatchWhileBusy, true),
            new($"2 partitions, {AzureTableEvidenceStore.DefaultRequestsInFlightPerPartition} in flight ({AzureTableEvidenceStore.DefaultBatchWhileBusy} while busy), per batch", 2,
                AzureTableEvidenceStore.DefaultRequestsInFlightPerPartition, AzureTableEvidenceStore.DefaultBatchWhileBusy, true),
            new($"1 partition, {AzureTableEvidenceStore.DefaultRequestsInFlightPerPartition} in flight ({AzureTableEvidenceStore.DefaultBatchWhileBusy} while busy), per batch", 1,
                AzureTableEvidenceStore.DefaultRequestsInFlightPerPartition, AzureTableEvidenceStore.DefaultBatchWhileBusy, true),
        ];
        // --config partitions:inFlight:batchWhileBusy (repeatable) measures those instead, all with a signature per batch.
        var chosen = args.Select((a, i) => (a, i)).Where(p => p.a == "--config" && p.i + 1 < args.Length).Select(p => ParseConfiguration(args[p.i + 1])).ToArray();
        if (chosen.Length > 0) configurations = chosen;
        await using var azurite = await AzuriteServer.StartAsync();
        using var key = EvidenceSigningKey.Generate();
        Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, commit {BenchSupport.GitCommit(RepoPaths.Root)}, load average {BenchSupport.LoadAverage()}; "
            + $"{writers} writers (2 chains each, one record at a time), 2 s warm-up + {seconds} s timed per row, {rounds} round(s)");
        Console.WriteLine("| configuration | records/s | p50 ms | p99 ms | this process CPU µs/record | Azurite CPU µs/record | records per request | load (1 min) |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (var round = 0; round < rounds; round++)
            foreach (var configuration in configurations)
                Console.WriteLine(await MeasureAsync(azurite, key, configuration, writers, TimeSpan.FromSeconds(seconds)));
        return 0;
    }

    private static Configuration ParseConfiguration(string text)
    {
        var parts = text.Split(':').Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        if (parts.Length != 3) throw new ArgumentException($"--config {text}: expected partitions:inFlight:batchWhileBusy");
        return new($"{parts[0]} partition(s), {parts[1]} in flight ({parts[2]} while busy), per batch", parts[0], parts[1], parts[2], true);
    }

    private static async Task<string> MeasureAsync(AzuriteServer azurite, EvidenceSigningKey key, Configuration configuration, int writers, TimeSpan duration)
    {
        var store = new AzureTableEvidenceStore(azurite.ConnectionString, "BenchAppend" + Guid.NewGuid().ToString("N")[..8], partitionsForNewTable: configuration.Partitions)
        {
            RequestsInFlightPerPartition = configuration.InFlight,
            BatchWhileBusy = configuration.BatchWhileBusy,
        };
        await store.SessionPartitionsAsync();
        var template = EvidenceSealBenchmark.SampleBody();
        var heads = new EvidenceHead[writers * 2];
        Array.Fill(heads, EvidenceHead.Empty);
        var timing = false;
        var stop = false;
        var latencies = Enumerable.Range(0, writers).Select(_ => new List<double>()).ToArray();

        async Task WriteAsync(int writer)
        {
            for (var turn = 0; !Volatile.Read(ref stop); turn++)
            {
                var chainIndex = writer * 2 + (turn & 1);
                var session = "bench" + chainIndex.ToString("D4", CultureInfo.InvariantCulture);
                var body = template with { Chain = EvidenceChains.ForSession(session), SessionId = session, DecisionId = Guid.NewGuid().ToString() };
                var started = Stopwatch.GetTimestamp();
                EvidenceEntry entry;
                if (configuration.BatchSignature)
                {
                    entry = EvidenceSealer.SealUnsigned(body, heads[chainIndex], key.KeyId);
                    await store.AppendUnsignedAsync(entry, key);
                }
                else
                {
                    entry = EvidenceSealer.Seal(body, heads[chainIndex], key);
                    await store.AppendAsync(entry);
                }
                heads[chainIndex] = new EvidenceHead(entry.Sequence, entry.Hash);
                if (Volatile.Read(ref timing)) latencies[writer].Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }

        var running = Enumerable.Range(0, writers).Select(w => Task.Run(() => WriteAsync(w))).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(2));
        var (requestsBefore, recordsBefore) = store.AppendStatistics;
        var (elapsed, cpu, azuriteCpu, load) = await BenchSupport.TimeWindowAsync(azurite, duration, on => Volatile.Write(ref timing, on));
        var (requestsAfter, recordsAfter) = store.AppendStatistics;
        Volatile.Write(ref stop, true);
        await Task.WhenAll(running);

        var records = recordsAfter - recordsBefore;
        var requests = requestsAfter - requestsBefore;
        var sorted = latencies.SelectMany(l => l).Order().ToArray();
        return string.Create(CultureInfo.InvariantCulture,
            $"| {configuration.Name} | {records / elapsed.TotalSeconds:0} | {BenchSupport.Percentile(sorted, 0.50):0.00} | {BenchSupport.Percentile(sorted, 0.99):0.00} | "
            + $"{cpu.TotalMicroseconds / records:0} | {azuriteCpu.TotalMicroseconds / records:0} | {(double)records / Math.Max(1, requests):0.00} | {load} |");
    }
}
