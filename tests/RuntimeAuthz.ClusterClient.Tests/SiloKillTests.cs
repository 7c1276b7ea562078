using System.Collections.Concurrent;
using System.Text.Json;
using RuntimeAuthz.Client;
using Wire = RuntimeAuthz.Contracts;

namespace RuntimeAuthz.ClusterClient.Tests;

/// <summary>A silo of a 2-silo cluster killed while the client decides on sessions spread over both.</summary>
[Collection(ClusterCollection.Name)]
public sealed class SiloKillTests(ClusterFixture fixture, Xunit.Abstractions.ITestOutputHelper output)
{
    private const int Sessions = 8;
    private const int AnsweredBeforeKill = 5;
    private const int AnsweredAfterKill = 3;

    [Fact]
    public async Task Calls_in_flight_when_a_silo_dies_fail_or_deny_are_never_repeated_and_later_calls_succeed_on_the_survivor()
    {
        var cluster = await fixture.StartClusterAsync();
        var client = await fixture.ConnectAsync(cluster, o => o.ResponseTimeout = TimeSpan.FromSeconds(5));
        var read = new DecisionRequest("read_file", new ResourceRef("Document", "doc-1", JsonSerializer.Deserialize<JsonElement>("""{"fleet":"research"}""")));
        var sessions = new List<string>();
        for (var i = 0; i < Sessions; i++) sessions.Add((await client.Authz.OpenSessionAsync(new OpenSessionRequest(ClusterFixture.Agent))).Id);
        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = sessions.ToDictionary(s => s, _ => new SessionRun());
        var everyoneReady = new CountdownEvent(Sessions);

        // Each session decides in a loop: some answers before the kill, then on until a few answers came after it.
        var loops = sessions.Select(session => Task.Run(async () =>
        {
            var run = runs[session];
            var signalled = false;
            while (run.AnsweredAfterKill < AnsweredAfterKill)
            {
                try
                {
                    var decision = await client.Authz.DecideAsync(session, read);
                    run.Answered.Add(decision);
                    if (killed.Task.IsCompleted) run.AnsweredAfterKill++;
                }
                catch (DecisionUnknownException)
                {
                    run.Lost++;
                    // The survivor takes over once the dead silo is declared dead; ask again later, as a caller would.
                    await Task.Delay(200);
                }
                if (!signalled && run.Answered.Count >= AnsweredBeforeKill) { signalled = true; everyoneReady.Signal(); }
            }
        })).ToArray();

        // A loop that failed (any exception but DecisionUnknownException) ends the wait and fails the test with its exception.
        await Task.WhenAny(Task.Run(() => everyoneReady.Wait(TimeSpan.FromSeconds(120))), Task.WhenAll(loops));
        if (loops.Any(l => l.IsFaulted)) await Task.WhenAll(loops);
        await cluster.KillAsync(1);
        killed.SetResult();
        // Bounded: every loop ends once it got its answers from the survivor, or the wait fails the test.
        await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(180));

        output.WriteLine($"lost decisions: {runs.Values.Sum(r => r.Lost)}; answered: {runs.Values.Sum(r => r.Answered.Count)}, " +
            $"not Allow: {runs.Values.Sum(r => r.Answered.Count(d => !d.IsAllowed))}");
        foreach (var (session, run) in runs)
        {
            // A superseding record repeats its decision's id, so the chain's decisions are counted by id.
            var recorded = (await RecordedDecisionsAsync(client.Grains.GetGrain<Wire.IAgentSessionGrain>(session))).ToHashSet();
            // Every Allow the caller got is in the session's chain (no evidence, no allow).
            Assert.Subset(recorded, run.Answered.Where(d => d.IsAllowed).Select(d => d.DecisionId).ToHashSet());
            // Decisions the caller was never told about can only be the lost ones, never repeats of its calls.
            Assert.InRange(recorded.Except(run.Answered.Select(d => d.DecisionId)).Count(), 0, run.Lost);
            // The survivor decides as before.
            Assert.All(run.Answered.OrderBy(d => d.DecidedAt).TakeLast(AnsweredAfterKill), d => Assert.Equal(DecisionOutcome.Allow, d.Outcome));
        }
    }

    /// <summary>The decision ids of every request the session's evidence chain recorded.</summary>
    private static async Task<List<string>> RecordedDecisionsAsync(Wire.IAgentSessionGrain grain)
    {
        var ids = new List<string>();
        long after = 0;
        while (true)
        {
            var page = (await Eventually.UntilAsync("the session's timeline from the survivor", () => grain.GetTimeline(after, 500), p => p is not null,
                timeout: TimeSpan.FromSeconds(60), retryExceptions: true))!;
            ids.AddRange(page.Events.Where(e => e.Kind == Wire.SessionEventKind.Request).Select(e => e.DecisionId.ToString()));
            if (page.NextAfter is not { } next) return ids;
            after = next;
        }
    }

    private sealed class SessionRun
    {
        public ConcurrentBag<Decision> Answered { get; } = [];
        public int Lost { get; set; }
        public int AnsweredAfterKill { get; set; }
    }
}
