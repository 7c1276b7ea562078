using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace RuntimeAuthz.Testing;

/// <summary>How to start one <see cref="SiloProcess"/>.</summary>
public sealed record SiloLaunch
{
    /// <summary>Storage for grain state and evidence (and membership with <see cref="AzureTableClustering"/>).</summary>
    public required string StorageConnectionString { get; init; }

    /// <summary>Service and cluster id: silos started with the same id and <see cref="AzureTableClustering"/> form one cluster.</summary>
    public string ServiceId { get; init; } = "silo-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>Membership in the storage account's table (several silos), instead of one Localhost silo.</summary>
    public bool AzureTableClustering { get; init; }

    public bool Evidence { get; init; } = true;

    /// <summary>Further <c>--Key=value</c> arguments (e.g. Seed:Example and Seed:Directory).</summary>
    public IReadOnlyList<string> ExtraArgs { get; init; } = [];
}

/// <summary>
/// The Release build of silo/RuntimeAuthz.Silo as its own process (Development environment, on free loopback
/// ports, with the client gateway and the development token issuer on), for the benchmarks and for tests that
/// kill a silo for real (SIGKILL). Output goes to a log file; stopped with SIGTERM, killed only if it does not exit.
/// </summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(30);

    private readonly Process process;
    private readonly StreamWriter log;

    private SiloProcess(Process process, StreamWriter log, Uri baseAddress, int siloPort, int gatewayPort, string serviceId, string logPath)
    {
        this.process = process;
        this.log = log;
        BaseAddress = baseAddress;
        SiloPort = siloPort;
        GatewayPort = gatewayPort;
        ServiceId = serviceId;
        LogPath = logPath;
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri BaseAddress { get; }
    public int SiloPort { get; }
    public int GatewayPort { get; }
    public string ServiceId { get; }
    public string LogPath { get; }

    /// <summary>Anonymous calls (health, /dev/token); set a bearer token on it for more.</summary>
    public HttpClient Http { get; }

    public int ProcessId => process.Id;
    public bool HasExited => process.HasExited;

    public TimeSpan ProcessorTime
    {
        get { process.Refresh(); return process.TotalProcessorTime; }
    }

    /// <summary>Resident memory of the process (what the OS reports as its working set).</summary>
    public long WorkingSetBytes
    {
        get { process.Refresh(); return process.WorkingSet64; }
    }

    /// <summary>
    /// The silo next to the running program (a project that references the silo project gets its build, runtimeconfig
    /// included, in its own output, also under ./test's --artifacts-path), else the silo project's own Release build.
    /// </summary>
    public static string LocateBuild(string root)
    {
        var beside = Path.Combine(AppContext.BaseDirectory, "RuntimeAuthz.Silo.dll");
        if (File.Exists(beside) && File.Exists(Path.ChangeExtension(beside, ".runtimeconfig.json"))) return beside;
        var dll = Path.Combine(root, "silo", "RuntimeAuthz.Silo", "bin", "Release", "net10.0", "RuntimeAuthz.Silo.dll");
        if (!File.Exists(dll))
            throw new InvalidOperationException($"{dll} is missing: build with -c Release (the bench and the chaos tests reference the silo project, so building them builds it)");
        return dll;
    }

    /// <summary>One Localhost-clustered silo on <paramref name="azurite"/> (the benchmarks' single silo).</summary>
    /// <param name="settings">More configuration, <c>Key=value</c> (e.g. <c>Evidence:SessionPartitions=1</c>).</param>
    public static Task<SiloProcess> StartAsync(string root, AzuriteServer azurite, bool evidence, string logPath, params string[] settings) =>
        StartAsync(root, azurite.ConnectionString, evidence, logPath, settings);

    /// <summary>One Localhost-clustered silo on the storage account of <paramref name="storageConnectionString"/> (e.g. through a relay).</summary>
    public static Task<SiloProcess> StartAsync(string root, string storageConnectionString, bool evidence, string logPath, params string[] settings) =>
        StartAsync(root, new SiloLaunch
        {
            StorageConnectionString = storageConnectionString, ServiceId = "bench-" + Guid.NewGuid().ToString("N")[..8], Evidence = evidence,
            ExtraArgs = [.. settings.Select(setting => "--" + setting)],
        }, logPath);

    /// <summary>Starts the silo and returns once <c>/health/ready</c> answers 200.</summary>
    public static async Task<SiloProcess> StartAsync(string root, SiloLaunch launch, string logPath, TimeSpan? readyTimeout = null)
    {
        var dll = LocateBuild(root);
        var httpPort = FreePorts.Next();
        var siloPort = FreePorts.Next();
        var gatewayPort = FreePorts.Next();
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var argument in (string[])
        [
            dll, "--contentRoot", Path.GetDirectoryName(dll)!, "--urls", $"http://127.0.0.1:{httpPort}",
            $"--Storage:ConnectionString={launch.StorageConnectionString}",
            $"--Orleans:Clustering:ProviderType={(launch.AzureTableClustering ? "AzureTableStorage" : "Development")}",
            $"--Orleans:ServiceId={launch.ServiceId}", $"--Orleans:ClusterId={launch.ServiceId}",
            $"--Orleans:SiloPort={siloPort}", $"--Orleans:GatewayPort={gatewayPort}",
            "--Orleans:Gateway:Enabled=true", "--Authentication:DevelopmentIssuer:Enabled=true",
            $"--Evidence:Enabled={launch.Evidence}",
            // One token carries a whole load generator: the per-caller limit (1,000/s by default) would answer 429s.
            "--RateLimiting:PermitLimit=1000000",
            .. launch.ExtraArgs,
        ])
        {
            info.ArgumentList.Add(argument);
        }
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        info.Environment["DOTNET_ENVIRONMENT"] = "Development";
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the silo");
        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var silo = new SiloProcess(process, log, new Uri($"http://127.0.0.1:{httpPort}/"), siloPort, gatewayPort, launch.ServiceId, logPath);
        try
        {
            await Eventually.TrueAsync($"the silo to report ready (log: {logPath})", async () =>
            {
                if (process.HasExited) throw new InvalidOperationException($"the silo exited during start-up with code {process.ExitCode} (log: {logPath})");
                try
                {
                    return (await silo.Http.GetAsync("health/ready")).IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, readyTimeout ?? TimeSpan.FromSeconds(120), TimeSpan.FromMilliseconds(250));
            return silo;
        }
        catch
        {
            await silo.DisposeAsync();
            throw;
        }
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null) return;
        lock (log)
        {
            try { log.WriteLine(line); }
            catch (ObjectDisposedException) { /* output after the log was closed */ }
        }
    }

    /// <summary>A token from this silo's development issuer (POST /dev/token), or null when it has none. Its key is this process's own.</summary>
    public async Task<string?> DevTokenAsync(string subject, string[] roles, string[]? agents = null, string? agentId = null)
    {
        var request = new JsonObject { ["subject"] = subject, ["roles"] = new JsonArray([.. roles.Select(r => JsonValue.Create(r))]), ["lifetimeSeconds"] = 86_400 };
        if (agents is not null) request["agents"] = new JsonArray([.. agents.Select(a => JsonValue.Create(a))]);
        if (agentId is not null) request["agentId"] = agentId;
        var reply = await Http.PostAsJsonAsync("dev/token", request);
        if (reply.StatusCode == HttpStatusCode.NotFound) return null;
        reply.EnsureSuccessStatusCode();
        var body = await reply.Content.ReadFromJsonAsync<JsonObject>();
        return body?["access_token"]?.GetValue<string>() ?? throw new InvalidOperationException("/dev/token answered without access_token");
    }

    /// <summary>An Orleans cluster client connected through this silo's gateway (Localhost clustering: this silo only).</summary>
    public async Task<IHost> ConnectClientAsync()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(client => client.UseLocalhostClustering(GatewayPort, ServiceId, ServiceId));
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    /// <summary>SIGKILL: no shutdown, no flush, no goodbye to the cluster.</summary>
    public async Task KillAsync()
    {
        if (process.HasExited) return;
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
    }

    /// <summary>Stops the silo (SIGTERM, so it logs its shutdown lines, then a kill after the grace period); a second call does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1) return;
        Http.Dispose();
        if (!process.HasExited)
        {
            using (var term = Process.Start(new ProcessStartInfo("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false }))
            {
                if (term is not null) await term.WaitForExitAsync();
            }
            using var wait = new CancellationTokenSource(StopGrace);
            try { await process.WaitForExitAsync(wait.Token); }
            catch (OperationCanceledException) { process.Kill(entireProcessTree: true); await process.WaitForExitAsync(); }
        }
        process.Dispose();
        lock (log) log.Dispose();
    }

    private int disposed;
}
