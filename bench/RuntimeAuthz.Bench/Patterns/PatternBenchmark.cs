using System.Diagnostics;
using System.Text.Json;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Policy;

namespace RuntimeAuthz.Bench.Patterns;

/// <summary>
/// Matching time of the worst grant globs allowed (<see cref="ResourcePattern.MaxGlobWildcards"/> wildcards,
/// <see cref="ResourcePattern.MaxGlobLength"/> characters) and of Cedar <c>like</c> over growing inputs: the time per
/// character of input stays flat, i.e. matching is linear in the id (the old regular expression backtracked and hit its
/// 100 ms timeout on a 205-character id).
/// </summary>
internal static class PatternBenchmark
{
    private sealed record Case(string Name, string Glob, Func<int, string> Input);

    private static string Repeat(string unit, int length) => string.Concat(Enumerable.Repeat(unit, length / unit.Length + 1))[..length];

    private static readonly string Run15 = new string('a', 14) + "b";

    // Inputs that pass the first and last literal runs, so every middle run is searched through the id.
    private static readonly Case[] Cases =
    [
        new("probe: */*/*/*/*.pdf vs a/a/…x.pdf (match)", "*/*/*/*/*.pdf", n => Repeat("a/", n - 5) + "x.pdf"),
        new("probe: */*/*/*/*.pdf vs a/a/…x.txt (the 105 ms case)", "*/*/*/*/*.pdf", n => Repeat("a/", n - 5) + "x.txt"),
        new("15 × *a then *b vs aaa…ab (match)", string.Concat(Enumerable.Repeat("*a", ResourcePattern.MaxGlobWildcards - 1)) + "*b", n => new string('a', n - 1) + "b"),
        new("*a{120}ba{119}* (longest run) vs aaa…", "*" + new string('a', 120) + "b" + new string('a', 119) + "*", n => new string('a', n)),
        new("*c* vs aaa… (a run found nowhere: one scan)", "*c*", n => new string('a', n)),
        new("15 × (*a{14}b) then * vs a{14}c… with 14 runs at the end", string.Concat(Enumerable.Repeat("*" + Run15, ResourcePattern.MaxGlobWildcards - 1)) + "*",
            n => Repeat(new string('a', 14) + "c", Math.Max(0, n - 14 * Run15.Length)) + string.Concat(Enumerable.Repeat(Run15, Math.Min(14, n / Run15.Length)))),
    ];

    public static int Run(string[] args)
    {
        var milliseconds = BenchSupport.ArgValue(args, "--ms", 200);
        Console.WriteLine($"bench patterns (commit {BenchSupport.GitCommit(RuntimeAuthz.Testing.RepoPaths.Root)}, {Environment.ProcessorCount} cores, {milliseconds} ms per cell)");
        Console.WriteLine();
        Console.WriteLine("Grant globs (ResourcePattern.GlobMatches, ids up to the 1,024-character limit):");
        Console.WriteLine();
        var lengths = new[] { 64, 128, 256, 512, 1024 };
        Console.WriteLine("| pattern | " + string.Join(" | ", lengths.Select(n => $"{n} chars")) + " | ns per char (64 → 1,024) |");
        Console.WriteLine("| --- |" + string.Concat(lengths.Select(_ => " ---: |")) + " --- |");
        foreach (var c in Cases)
        {
            if (ResourcePattern.GlobLimitProblem(c.Glob, "glob") is { } problem) throw new InvalidOperationException(problem);
            var times = lengths.Select(n => { var id = c.Input(n); return Measure(() => ResourcePattern.GlobMatches(c.Glob, id), milliseconds); }).ToArray();
            Console.WriteLine($"| {c.Name} | {string.Join(" | ", times.Select(Format))} | {times[0] / lengths[0]:0.00} → {times[^1] / lengths[^1]:0.00} |");
        }

        Console.WriteLine();
        Console.WriteLine("Cedar like over context.text (Authorizer.IsAuthorized, one policy), inputs up to 64 KiB:");
        Console.WriteLine();
        var inputLengths = new[] { 1024, 4096, 16384, 65536 };
        Console.WriteLine("| pattern | " + string.Join(" | ", inputLengths.Select(n => $"{n} chars")) + " | ns per char (1 Ki → 64 Ki) |");
        Console.WriteLine("| --- |" + string.Concat(inputLengths.Select(_ => " ---: |")) + " --- |");
        foreach (var c in Cases)
        {
            var policies = PolicySet.Parse($"permit (principal, action, resource) when {{ context.text like {JsonSerializer.Serialize(c.Glob)} }};");
            var times = inputLengths.Select(n =>
            {
                var request = new AuthorizationRequest(new EntityUid("User", "u"), new EntityUid("Action", "a"), new EntityUid("Doc", "d"),
                    CedarContext.FromJson(JsonSerializer.Serialize(new { text = c.Input(n) })));
                return Measure(() => Authorizer.IsAuthorized(request, policies, EntityStore.Empty).Decision == Decision.Allow, milliseconds);
            }).ToArray();
            Console.WriteLine($"| {c.Name} | {string.Join(" | ", times.Select(Format))} | {times[0] / inputLengths[0]:0.00} → {times[^1] / inputLengths[^1]:0.00} |");
        }
        return 0;
    }

    private static string Format(double nanoseconds) =>
        nanoseconds >= 10_000 ? $"{nanoseconds / 1000:0.0} µs" : $"{nanoseconds:0} ns";

    /// <summary>Fastest batch's nanoseconds per call over batches filling about <paramref name="milliseconds"/> (the least disturbed by other work on the machine).</summary>
    private static double Measure(Func<bool> match, int milliseconds)
    {
        var sink = false;
        var batch = 1;
        var watch = Stopwatch.StartNew();
        while (watch.ElapsedMilliseconds < 5) { for (var i = 0; i < batch; i++) sink ^= match(); batch *= 2; }
        var samples = new List<double>();
        var total = Stopwatch.StartNew();
        while (total.ElapsedMilliseconds < milliseconds || samples.Count < 5)
        {
            watch.Restart();
            for (var i = 0; i < batch; i++) sink ^= match();
            samples.Add(watch.Elapsed.TotalNanoseconds / batch);
        }
        GC.KeepAlive(sink);
        return samples.Min();
    }
}
