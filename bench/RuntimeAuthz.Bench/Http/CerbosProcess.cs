using System.Diagnostics;
using System.Globalization;

namespace RuntimeAuthz.Bench.Http;

/// <summary>
/// Cerbos 0.55 (the npm package @cerbos/cerbos-linux-x64 ships the binary), installed into
/// .build/bench-cerbos, never into the repository's package.json. Loopback only, no telemetry,
/// policies from disk (bench/cerbos), decision log to a file or off.
/// </summary>
internal sealed class CerbosProcess : IAsyncDisposable
{
    public const string Package = "@cerbos/cerbos-linux-x64@0.55.0";
    private readonly Process process;

    private CerbosProcess(Process process, Uri baseAddress, string? decisionLog)
    {
        this.process = process;
        BaseAddress = baseAddress;
        DecisionLog = decisionLog;
    }

    public Uri BaseAddress { get; }
    public string? DecisionLog { get; }

    public static string EnsureBinary(string root)
    {
        var prefix = Path.Combine(root, ".build", "bench-cerbos");
        var binary = Path.Combine(prefix, "node_modules", "@cerbos", "cerbos-linux-x64", "cerbos-linux-x64");
        if (File.Exists(binary)) return binary;
        Console.WriteLine($"installing {Package} into {prefix} ...");
        Directory.CreateDirectory(prefix);
        using var npm = Process.Start(new ProcessStartInfo("npm", ["install", "--no-save", "--no-audit", "--no-fund", "--prefix", prefix, Package]) { UseShellExecute = false })
            ?? throw new InvalidOperationException("could not run npm");
        npm.WaitForExit();
        if (npm.ExitCode != 0 || !File.Exists(binary)) throw new InvalidOperationException($"npm install {Package} failed (exit {npm.ExitCode})");
        return binary;
    }

    /// <param name="work">A folder for the configuration and the decision log.</param>
    public static async Task<CerbosProcess> StartAsync(string binary, string policies, string work, bool decisionLog)
    {
        var httpPort = FreePorts.Next();
        var name = decisionLog ? "with-log" : "no-log";
        var logPath = decisionLog ? Path.Combine(work, $"cerbos-decisions-{name}.log") : null;
        var config = Path.Combine(work, $"cerbos-{name}.yaml");
        await File.WriteAllTextAsync(config, string.Create(CultureInfo.InvariantCulture, $"""
            server:
              httpListenAddr: "127.0.0.1:{httpPort}"
              grpcListenAddr: "127.0.0.1:{FreePorts.Next()}"
            storage:
              driver: disk
              disk:
                directory: "{policies}"
                watchForChanges: false
            audit:
              enabled: {(decisionLog ? "true" : "false")}
              accessLogsEnabled: false
              decisionLogsEnabled: {(decisionLog ? "true" : "false")}
              backend: file
              file:
                path: "{logPath ?? Path.Combine(work, "unused.log")}"
            telemetry:
              disabled: true
            """));
        var info = new ProcessStartInfo(binary, ["server", $"--config={config}", "--log-level=warn"])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        info.Environment["CERBOS_NO_TELEMETRY"] = "1";
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start cerbos");
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var cerbos = new CerbosProcess(process, new Uri($"http://127.0.0.1:{httpPort}/"), logPath);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Eventually.TrueAsync("cerbos to report healthy", async () =>
        {
            if (process.HasExited) throw new InvalidOperationException($"cerbos exited during start-up: {output}");
            try
            {
                return (await http.GetAsync(new Uri(cerbos.BaseAddress, "_cerbos/health"))).IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
            catch (TaskCanceledException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(200));
        return cerbos;
    }

    public TimeSpan ProcessorTime
    {
        get { process.Refresh(); return process.TotalProcessorTime; }
    }

    public ValueTask DisposeAsync() => new(BenchSupport.StopAsync(process, TimeSpan.FromSeconds(10)));
}
