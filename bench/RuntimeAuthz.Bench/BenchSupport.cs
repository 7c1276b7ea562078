using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RuntimeAuthz.ClusterClient;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Bench;

/// <summary>Command-line parsing, percentiles and process helpers shared by the benchmark modes (ports and the repository root: RuntimeAuthz.Testing).</summary>
internal static class BenchSupport
{
    public static int ArgValue(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length && int.TryParse(args[at + 1], CultureInfo.InvariantCulture, out var value) ? value : fallback;
    }

    public static bool HasFlag(string[] args, string name) => args.Contains(name, StringComparer.Ordinal);

    /// <summary>Azurite for the decision benches: on disk (as ./start runs it) unless <c>--azurite-in-memory</c>.</summary>
    public static Task<AzuriteServer> StartAzuriteAsync(string[] args) => AzuriteServer.StartAsync(inMemory: HasFlag(args, "--azurite-in-memory"));

    /// <summary>Every value given after <paramref name="name"/> (the flag may repeat), e.g. <c>--setting Evidence:BatchWhileBusy=16</c>.</summary>
    public static string[] ArgValues(string[] args, string name) =>
        [.. args.Select((arg, i) => (arg, i)).Where(a => a.arg == name && a.i + 1 < args.Length).Select(a => args[a.i + 1])];

    /// <summary>The value at quantile <paramref name="p"/> of an ascending array (0 when empty).</summary>
    public static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];

    /// <summary>The short commit id of <paramref name="root"/>'s HEAD ("unknown" outside git), for the figures in docs/benchmarks.md.</summary>
    public static string GitCommit(string root)
    {
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", ["-C", root, "rev-parse", "--short", "HEAD"]) { RedirectStandardOutput = true, UseShellExecute = false });
            var commit = git?.StandardOutput.ReadToEnd().Trim();
            git?.WaitForExit();
            return string.IsNullOrEmpty(commit) ? "unknown" : commit;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
    }

    /// <summary>The 1-, 5- and 15-minute load averages (/proc/loadavg), for the figures' context; "unknown" elsewhere.</summary>
    public static string LoadAverage()
    {
        try { return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "unknown"; }
        catch (UnauthorizedAccessException) { return "unknown"; }
    }

    /// <summary>CPU of this process and of Azurite over one timed window of load already running.</summary>
    public readonly record struct TimedWindow(TimeSpan Elapsed, TimeSpan ProcessCpu, TimeSpan AzuriteCpu, string Load);

    /// <summary>
    /// Times <paramref name="duration"/> of running load: <paramref name="timing"/> is set while the window is open (the load
    /// counts only then), and the window's wall time, this process's CPU and Azurite's CPU are returned.
    /// </summary>
    public static async Task<TimedWindow> TimeWindowAsync(AzuriteServer azurite, TimeSpan duration, Action<bool> timing)
    {
        var load = LoadAverage().Split(' ')[0];
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var azuriteBefore = azurite.ProcessorTime;
        var clock = Stopwatch.StartNew();
        timing(true);
        await Task.Delay(duration);
        timing(false);
        var elapsed = clock.Elapsed;
        return new TimedWindow(elapsed, Process.GetCurrentProcess().TotalProcessorTime - cpuBefore, azurite.ProcessorTime - azuriteBefore, load);
    }

    /// <summary>SIGTERM, then a kill after <paramref name="grace"/>: servers get the chance to flush and close.</summary>
    public static async Task StopAsync(Process process, TimeSpan grace)
    {
        if (!process.HasExited)
        {
            using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)])) await term!.WaitForExitAsync();
            using var wait = new CancellationTokenSource(grace);
            try { await process.WaitForExitAsync(wait.Token); }
            catch (OperationCanceledException) { process.Kill(entireProcessTree: true); }
        }
        process.Dispose();
    }
}

/// <summary>The benchmarks' cluster client: connected through a silo's gateway as fleets connect (RuntimeAuthz.ClusterClient).</summary>
internal static class FleetClients
{
    public static async Task<IHost> ConnectFleetClientAsync(this SiloProcess silo)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddAuthzClusterClient(configure: o =>
        {
            o.ClusterId = o.ServiceId = silo.ServiceId;
            o.Gateways = [$"127.0.0.1:{silo.GatewayPort}"];
            o.Caller = "bench";
        });
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }
}

/// <summary>
/// The decision every HTTP and cluster-client benchmark makes: agent <see cref="AgentId"/> of fleet
/// research reads a document of its fleet, under one permit and a delegation for read_file on
/// every document (Cerbos gets the equivalent resource policy).
/// </summary>
internal static class DecisionWorkload
{
    public const string AgentId = "bench-agent";
    public const string Fleet = "research";

    /// <summary>The example policy without its risk cap, so long runs stay on the Allow path.</summary>
    public const string Policy = """
        @id("read-own-fleet-documents")
        permit (principal is Agent, action == Action::"read_file", resource is Document)
        when { resource.fleet == principal.fleet };
        """;

    public static readonly DecisionRequest Request = new()
    {
        Action = "read_file", ResourceType = "Document", ResourceId = "doc-1",
        ResourcePropertiesJson = """{"fleet":"research"}""", InputJson = """{"path":"/reports/q3.pdf"}""",
    };

    /// <summary>Publishes the policy, registers the agent with its delegation, and waits until the silos decide Allow.</summary>
    public static async Task SetUpAsync(IGrainFactory grains)
    {
        var published = await grains.GetGrain<IPolicyGrain>(0).Publish(new PolicyPublishRequest { Policies = Policy, Author = "bench" });
        if (!published.IsSuccess) throw new InvalidOperationException(published.Message);
        var registered = await grains.GetGrain<IAgentGrain>(AgentId).Register(new AgentRegistration { Name = "bench", Owner = "bench", Fleet = Fleet });
        if (!registered.IsSuccess) throw new InvalidOperationException(registered.Message);
        var delegated = await grains.GetGrain<IAgentGrain>(AgentId).AddDelegation(new DelegationGrant
        {
            Actions = ["read_file"], Resources = ["Document::*"], GrantedBy = "bench", ExpiresAt = DateTimeOffset.UtcNow.AddDays(1),
        });
        if (!delegated.IsSuccess) throw new InvalidOperationException(delegated.Message);
        // Policy caches pick the new version up by push or poll.
        var probe = await OpenSessionAsync(grains);
        await Eventually.UntilAsync("an Allow once the silos have the bench policy", () => DecideAsync(grains, probe), d => d.Outcome == DecisionOutcome.Allow,
            timeout: TimeSpan.FromSeconds(10), describe: d => $"{d.Outcome} {d.DenyReason}");
    }

    public static async Task<string> OpenSessionAsync(IGrainFactory grains)
    {
        var id = "s-" + Guid.NewGuid().ToString("N");
        var opened = await grains.GetGrain<IAgentSessionGrain>(id).Open(new SessionOpenRequest
        {
            AgentId = AgentId, Lifetime = TimeSpan.FromDays(1), IdleTimeout = TimeSpan.FromDays(1),
        });
        if (!opened.IsSuccess) throw new InvalidOperationException(opened.Message);
        return id;
    }

    public static async Task<string[]> OpenSessionsAsync(IGrainFactory grains, int count) =>
        await Task.WhenAll(Enumerable.Range(0, count).Select(_ => OpenSessionAsync(grains)));

    public static Task<AuthzDecision> DecideAsync(IGrainFactory grains, string session) =>
        grains.GetGrain<IAgentSessionGrain>(session).Decide(Request);

    public static string FormatNotAllowed(Dictionary<string, long> notAllowed) =>
        notAllowed.Count == 0 ? "0" : string.Join(", ", notAllowed.Select(d => $"{d.Value} {d.Key}"));

    /// <summary>
    /// Each session decides in a loop for <paramref name="duration"/> (a session decides one request
    /// at a time); latencies in ms per session when <paramref name="latencies"/> is given.
    /// </summary>
    public static async Task<(long Count, Dictionary<string, long> NotAllowed)> ClosedLoopAsync(IGrainFactory grains, IReadOnlyList<string> sessions, TimeSpan duration, List<double>[]? latencies)
    {
        long count = 0;
        var notAllowed = new Dictionary<string, long>();
        var until = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(sessions.Select(async (session, index) =>
        {
            var mine = latencies is null ? null : latencies[index] = [];
            while (Stopwatch.GetTimestamp() < until)
            {
                var start = Stopwatch.GetTimestamp();
                var decision = await DecideAsync(grains, session);
                mine?.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                Interlocked.Increment(ref count);
                if (decision.Outcome != DecisionOutcome.Allow)
                {
                    var why = decision.DenyReason ?? decision.Outcome.ToString();
                    lock (notAllowed) notAllowed[why] = notAllowed.GetValueOrDefault(why) + 1;
                }
            }
        }));
        return (count, notAllowed);
    }
}
