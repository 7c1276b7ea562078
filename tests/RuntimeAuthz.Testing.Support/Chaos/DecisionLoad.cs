using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace RuntimeAuthz.Testing.Chaos;

/// <summary>
/// One decision call as the caller saw it. <see cref="Outcome"/> is null when no decision came back
/// (connection lost, timeout, a non-200 status): the caller must treat that as a Deny.
/// </summary>
public sealed record CallRecord(
    string Session, int Index, string Action, string Resource, TimeSpan Started, TimeSpan Ended,
    string? Outcome, string? DecisionId, long? CumulativeRisk, string? DenyReason, string? Failure);

/// <summary>
/// The load generator: every session decides in a closed loop over HTTP (one call at a time, as one agent would),
/// through its preferred silo and, when a call gets no decision, through the next living one. Every fifth call is
/// forbidden by policy; every resource id is unique in its session, so evidence records can be matched to calls
/// even when the caller got no answer.
/// </summary>
public sealed class DecisionLoad : IAsyncDisposable
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(20);

    private readonly ChaosCluster cluster;
    private readonly IReadOnlyList<string> sessions;
    private readonly List<CallRecord> calls = [];
    private readonly CancellationTokenSource stop = new();
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly Task running;

    private DecisionLoad(ChaosCluster cluster, IReadOnlyList<string> sessions)
    {
        this.cluster = cluster;
        this.sessions = sessions;
        running = Task.WhenAll(sessions.Select((session, i) => Task.Run(() => DriveAsync(session, i))));
    }

    public static DecisionLoad Start(ChaosCluster cluster, IReadOnlyList<string> sessions) => new(cluster, sessions);

    /// <summary>Time since the load started (the clock of <see cref="CallRecord.Started"/>).</summary>
    public TimeSpan Now => clock.Elapsed;

    public IReadOnlyList<string> Sessions => sessions;

    public IReadOnlyList<CallRecord> Calls
    {
        get { lock (calls) return calls.ToArray(); }
    }

    /// <summary>Allows answered so far.</summary>
    public int Allowed
    {
        get { lock (calls) return calls.Count(c => c.Outcome == "Allow"); }
    }

    /// <summary>Sessions that have an Allow answered for a call started at or after <paramref name="since"/>.</summary>
    public int SessionsAllowedSince(TimeSpan since)
    {
        lock (calls) return calls.Where(c => c.Outcome == "Allow" && c.Started >= since).Select(c => c.Session).Distinct().Count();
    }

    /// <summary>Stops starting calls and waits for the calls in flight (each is bounded by its timeout).</summary>
    public async Task<IReadOnlyList<CallRecord>> StopAsync()
    {
        await stop.CancelAsync();
        await running;
        return Calls;
    }

    public static (string Action, string Type, string Id) CallOf(int index) => index % 5 == 4
        ? ("delete_database", "Database", $"chaos-{index:D7}")
        : ("read_file", "Document", $"chaos-{index:D7}");

    private async Task DriveAsync(string session, int sessionIndex)
    {
        var route = sessionIndex;
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            var alive = cluster.Alive;
            if (alive.Count == 0) return;
            var silo = alive[route % alive.Count];
            var (action, type, id) = CallOf(i);
            var body = new JsonObject { ["action"] = action, ["resource"] = new JsonObject { ["type"] = type, ["id"] = id } };
            var started = clock.Elapsed;
            CallRecord record;
            try
            {
                using var timeout = new CancellationTokenSource(CallTimeout);
                using var reply = await cluster.ClientFor(silo).PostAsJsonAsync($"v1/sessions/{session}/decisions", body, timeout.Token);
                if (reply.IsSuccessStatusCode)
                {
                    var decision = (await reply.Content.ReadFromJsonAsync<JsonObject>(timeout.Token))!;
                    record = new CallRecord(session, i, action, $"{type}::\"{id}\"", started, clock.Elapsed,
                        decision["outcome"]!.GetValue<string>(), decision["decisionId"]?.GetValue<string>(), decision["cumulativeRisk"]?.GetValue<long>(),
                        decision["denyReason"]?.GetValue<string>(), null);
                }
                else
                {
                    record = new CallRecord(session, i, action, $"{type}::\"{id}\"", started, clock.Elapsed, null, null, null, null, $"HTTP {(int)reply.StatusCode}");
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or System.Text.Json.JsonException)
            {
                record = new CallRecord(session, i, action, $"{type}::\"{id}\"", started, clock.Elapsed, null, null, null, null,
                    ex is OperationCanceledException ? "timeout" : ex.GetType().Name);
            }
            lock (calls) calls.Add(record);
            if (record.Outcome is null)
            {
                // No decision: try the next silo, after a pause so a dead silo is not hammered.
                route++;
                try { await Task.Delay(100, stop.Token); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!stop.IsCancellationRequested) await stop.CancelAsync();
        try { await running; }
        catch (Exception) { /* already reported by StopAsync's caller, or irrelevant on the way out */ }
        stop.Dispose();
    }
}
