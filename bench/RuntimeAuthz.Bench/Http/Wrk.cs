using System.Diagnostics;
using System.Globalization;

namespace RuntimeAuthz.Bench.Http;

/// <summary>One wrk run as reported by bench/http-decisions.lua.</summary>
internal sealed record WrkResult(long Requests, double Seconds, double P50Ms, double P90Ms, double P99Ms, double MaxMs, long Allowed, long NotAllowed, long SocketErrors)
{
    public double PerSecond => Requests / Seconds;
    /// <summary>CPU (user + system) wrk itself used for the run.</summary>
    public TimeSpan ProcessorTime { get; init; }
}

/// <summary>Runs Debian's wrk (the load generator: C, event loop, not the bottleneck on loopback).</summary>
internal static class Wrk
{
    /// <summary>The wrk executable; installs Debian's package when it is missing and we are root.</summary>
    public static string Ensure()
    {
        if (Find() is { } found) return found;
        Console.WriteLine("wrk is missing: installing Debian's package (apt-get install -y wrk) ...");
        if (Environment.UserName == "root" && (Exec("apt-get", "install", "-y", "wrk") == 0 || (Exec("apt-get", "update") == 0 && Exec("apt-get", "install", "-y", "wrk") == 0)) && Find() is { } installed)
            return installed;
        throw new InvalidOperationException("wrk is not installed and could not be installed; install it with: sudo apt-get install -y wrk");
    }

    public static async Task<WrkResult> RunAsync(string wrk, string script, Uri target, int connections, int threads, TimeSpan duration, params string[] scriptArgs)
    {
        // Through bash, whose `times` then prints the CPU its child (wrk) used: the load generator's share of the machine.
        var info = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "-c", "\"$0\" \"$@\"; status=$?; times; exit $status", wrk,
            "-t", threads.ToString(CultureInfo.InvariantCulture), "-c", connections.ToString(CultureInfo.InvariantCulture),
            "-d", $"{Math.Max(1, (int)duration.TotalSeconds)}s", "--timeout", "10s", "-s", script, target.ToString(), "--",
        }.Concat(scriptArgs))
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start wrk");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var line = (await output).Split('\n').FirstOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"wrk printed no RESULT line (exit {process.ExitCode}): {await error}{await output}");
        var values = line["RESULT ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('=', 2))
            .ToDictionary(pair => pair[0], pair => long.Parse(pair[1], CultureInfo.InvariantCulture), StringComparer.Ordinal);
        return new WrkResult(values["requests"], values["duration_us"] / 1e6, values["p50_us"] / 1e3, values["p90_us"] / 1e3, values["p99_us"] / 1e3,
            values["max_us"] / 1e3, values["allowed"], values["not_allowed"], values["socket_errors"])
        {
            ProcessorTime = ChildTimes(await output),
        };
    }

    /// <summary>The children's line of bash's <c>times</c> (the last line, <c>1m2.345s 0m0.678s</c>): user + system.</summary>
    private static TimeSpan ChildTimes(string output)
    {
        var last = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";
        var total = TimeSpan.Zero;
        foreach (var part in last.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var m = part.IndexOf('m', StringComparison.Ordinal);
            if (m <= 0 || !part.EndsWith('s') || !int.TryParse(part.AsSpan(0, m), CultureInfo.InvariantCulture, out var minutes)
                || !double.TryParse(part.AsSpan(m + 1, part.Length - m - 2), CultureInfo.InvariantCulture, out var secs)) return TimeSpan.Zero;
            total += TimeSpan.FromMinutes(minutes) + TimeSpan.FromSeconds(secs);
        }
        return total;
    }

    private static string? Find() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "wrk")).FirstOrDefault(File.Exists);

    private static int Exec(string file, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args) { UseShellExecute = false });
        if (process is null) return -1;
        process.WaitForExit();
        return process.ExitCode;
    }
}

/// <summary>Group commit as the silo saw it: the statistics line it logs when it stops.</summary>
internal static class EvidenceBatching
{
    public static string FromSiloLog(string logPath)
    {
        // The line and the next (console logging puts the message on its own line).
        var lines = File.Exists(logPath) ? File.ReadAllLines(logPath) : [];
        var at = Array.FindLastIndex(lines, l => l.Contains(RuntimeAuthz.Grains.Evidence.EvidenceStatisticsLog.Marker, StringComparison.Ordinal));
        return at < 0 ? "not logged" : lines[at].Trim();
    }
}
