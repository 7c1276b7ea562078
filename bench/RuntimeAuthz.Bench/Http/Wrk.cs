using System.Diagnostics;
using System.Globalization;

namespace RuntimeAuthz.Bench.Http;

/// <summary>One wrk run as reported by bench/http-decisions.lua.</summary>
internal sealed record WrkResult(long Requests, double Seconds, double P50Ms, double P90Ms, double P99Ms, double MaxMs, long Allowed, long NotAllowed, long SocketErrors)
{
    public double PerSecond => Requests / Seconds;
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
        var info = new ProcessStartInfo(wrk)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
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
            values["max_us"] / 1e3, values["allowed"], values["not_allowed"], values["socket_errors"]);
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
