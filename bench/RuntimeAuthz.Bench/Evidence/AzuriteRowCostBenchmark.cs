using System.Globalization;
using Azure.Data.Tables;
using RuntimeAuthz.Evidence;

namespace RuntimeAuthz.Bench.Evidence;

/// <summary>
/// What Azurite's cost per evidence record would become if several records shared one table entity. W writers send
/// batch transactions of R sealed records each (one partition per batch, as the evidence store does), packed K records
/// per entity (the records' bodies, hashes and proofs joined into one string property, R/K entities per batch), for
/// K = 1 (today's layout) and larger. Prints records/s and Azurite's CPU per record and per entity, so the lever a
/// several-records-per-entity layout would pull is a measured figure before the store is redesigned for it.
/// </summary>
public static class AzuriteRowCostBenchmark
{
    public static int Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(string[] args)
    {
        var seconds = BenchSupport.ArgValue(args, "--seconds", 6);
        var writers = BenchSupport.ArgValue(args, "--writers", 8);
        var perBatch = BenchSupport.ArgValue(args, "--records-per-batch", 16);
        var rounds = BenchSupport.ArgValue(args, "--rounds", 1);
        var padTo = BenchSupport.ArgValue(args, "--record-chars", 0);
        if (perBatch is < 1 or > 100) throw new ArgumentException("--records-per-batch must be 1..100");
        int[] packings = [.. new[] { 1, 2, 4, 8, 16 }.Where(k => k <= perBatch && perBatch % k == 0)];

        await using var azurite = await BenchSupport.StartAzuriteAsync(args);
        using var key = EvidenceSigningKey.Generate();
        var body = EvidenceSealBenchmark.SampleBody();
        var record = EvidenceSealer.SealUnsigned(body, new EvidenceHead(41, EvidenceSealer.HashOf("previous")), key.KeyId);
        var stored = record.Body + "\n" + record.Hash + "\n" + record.KeyId;
        // A record with its session replay and batch proof is larger than its body: --record-chars pads to that size.
        if (padTo > stored.Length) stored = stored.PadRight(padTo, 'x');
        Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, commit {BenchSupport.GitCommit(RepoPaths.Root)}, load average {BenchSupport.LoadAverage()}; "
            + $"Azurite {(azurite.InMemory ? "in memory" : "on disk")}, {writers} writers, {perBatch} records per batch transaction, record {stored.Length} characters, "
            + $"2 s warm-up + {seconds} s timed per row, {rounds} round(s)");
        Console.WriteLine("| records per entity | entities per batch | records/s | Azurite CPU µs/record | Azurite CPU µs/entity | this process CPU µs/record | load (1 min) |");
        Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        var service = new TableServiceClient(azurite.ConnectionString, AzureTableEvidenceStore.CreateClientOptions());
        for (var round = 0; round < rounds; round++)
            foreach (var packing in packings)
                Console.WriteLine(await MeasureAsync(azurite, service, stored, writers, perBatch, packing, TimeSpan.FromSeconds(seconds)));
        return 0;
    }

    private static async Task<string> MeasureAsync(AzuriteServer azurite, TableServiceClient service, string stored, int writers, int perBatch, int packing, TimeSpan duration)
    {
        var table = service.GetTableClient("BenchRows" + Guid.NewGuid().ToString("N")[..8]);
        await table.CreateIfNotExistsAsync();
        var packed = string.Join("\u001e", Enumerable.Repeat(stored, packing));
        var entitiesPerBatch = perBatch / packing;
        long records = 0;
        var timing = false;
        var stop = false;

        async Task WriteAsync(int writer)
        {
            var partition = "p" + writer.ToString("D2", CultureInfo.InvariantCulture);
            for (long next = 0; !Volatile.Read(ref stop);)
            {
                var actions = new List<TableTransactionAction>(entitiesPerBatch);
                for (var e = 0; e < entitiesPerBatch; e++, next++)
                    actions.Add(new TableTransactionAction(TableTransactionActionType.Add,
                        new TableEntity(partition, next.ToString("D12", CultureInfo.InvariantCulture)) { ["Records"] = packed, ["Count"] = packing }));
                await table.SubmitTransactionAsync(actions);
                if (Volatile.Read(ref timing)) Interlocked.Add(ref records, perBatch);
            }
        }

        var running = Enumerable.Range(0, writers).Select(w => Task.Run(() => WriteAsync(w))).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(2));
        var (elapsed, cpu, azuriteCpu, load) = await BenchSupport.TimeWindowAsync(azurite, duration, on => Volatile.Write(ref timing, on));
        Volatile.Write(ref stop, true);
        await Task.WhenAll(running);
        await table.DeleteAsync();

        var counted = Interlocked.Read(ref records);
        return string.Create(CultureInfo.InvariantCulture,
            $"| {packing} | {entitiesPerBatch} | {counted / elapsed.TotalSeconds:0} | {azuriteCpu.TotalMicroseconds / counted:0} | "
            + $"{azuriteCpu.TotalMicroseconds / counted * packing:0} | {cpu.TotalMicroseconds / counted:0} | {load} |");
    }
}
