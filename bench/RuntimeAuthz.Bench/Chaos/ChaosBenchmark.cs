using System.Globalization;
using RuntimeAuthz.Testing.Chaos;

namespace RuntimeAuthz.Bench.Chaos;

/// <summary>
/// The chaos tests' scenarios, longer and wider: each fault on its own fresh cluster of silo processes (Azure Table
/// clustering on Azurite) under the HTTP load generator, then one table of what was counted (figures for docs/reliability.md).
/// </summary>
public static class ChaosBenchmark
{
    private static readonly ChaosFault[] AllFaults =
        [ChaosFault.KillBusiestSilo, ChaosFault.KillHotAgentSilo, ChaosFault.StorageStall, ChaosFault.StorageRestart, ChaosFault.SlowStorage];

    public static int Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(string[] args)
    {
        var settings = new ChaosSettings
        {
            Silos = BenchSupport.ArgValue(args, "--silos", 3),
            Sessions = BenchSupport.ArgValue(args, "--sessions", 32),
            Before = TimeSpan.FromSeconds(BenchSupport.ArgValue(args, "--before", 10)),
            Fault = TimeSpan.FromSeconds(BenchSupport.ArgValue(args, "--fault", 10)),
            After = TimeSpan.FromSeconds(BenchSupport.ArgValue(args, "--after", 10)),
            SlowLatency = TimeSpan.FromMilliseconds(BenchSupport.ArgValue(args, "--latency-ms", 100)),
        };
        var faults = AllFaults;
        var only = Array.IndexOf(args, "--scenario");
        if (only >= 0)
        {
            if (only + 1 >= args.Length || !Enum.TryParse<ChaosFault>(args[only + 1], ignoreCase: true, out var chosen))
            {
                Console.Error.WriteLine($"--scenario must be one of {string.Join(", ", AllFaults)}");
                return 2;
            }
            faults = [chosen];
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, commit {BenchSupport.GitCommit(RepoPaths.Root)}, load average {BenchSupport.LoadAverage()}; " +
            $"{settings.Silos} silos, {settings.Sessions} sessions, {settings.Before.TotalSeconds:0} s before, fault {settings.Fault.TotalSeconds:0} s, {settings.After.TotalSeconds:0} s after"));

        var reports = new List<ChaosReport>();
        foreach (var fault in faults)
        {
            var report = await ChaosScenarios.RunAsync(fault, settings, Console.Out);
            Console.WriteLine(report);
            reports.Add(report);
        }

        Console.WriteLine();
        Console.WriteLine("| scenario | calls | Allow | Deny (policy / fail-closed) | no answer | allows without evidence | records disagreeing | unanswered recorded Allow | state backwards | chains verified / broken | fault s | recovery s | allows/s |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in reports)
        {
            var policy = r.DenyReasons.Where(d => d.Key is "not-permitted" or "forbidden").Sum(d => d.Value);
            var failClosed = string.Join(", ", r.DenyReasons.Where(d => d.Key is not ("not-permitted" or "forbidden")).Select(d => $"{d.Value} {d.Key}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Scenario} | {r.Calls:N0} | {r.Allowed:N0} | {policy:N0} / {(failClosed.Length == 0 ? "0" : failClosed)} | {r.NoAnswer} | {r.AllowsWithoutEvidence} | {r.RecordsDisagreeing} | " +
                $"{r.UnansweredWithAllowRecord} | {r.StateBackwards} | {r.ChainsVerified} / {r.BrokenChains.Count} | {r.Fault.TotalSeconds:0.0} | " +
                $"{(r.Recovery is { } rec ? rec.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) : "not reached")} | {r.AllowsPerSecond:0} |"));
        }
        foreach (var r in reports.Where(r => r.Notes.Length > 0)) Console.WriteLine($"- {r.Scenario}: {r.Notes}");
        foreach (var broken in reports.SelectMany(r => r.BrokenChains)) Console.WriteLine($"BROKEN {broken}");
        var sound = reports.All(r => r.AllowsWithoutEvidence == 0 && r.RecordsDisagreeing == 0 && r.StateBackwards == 0
            && r.BrokenChains.Count == 0 && r.Recovery is not null);
        Console.WriteLine(sound ? "every scenario: 0 allows without evidence, 0 records disagreeing, every chain verified, every session recovered" : "SOME SCENARIO FAILED (see above)");
        return sound ? 0 : 1;
    }
}
