using System.Globalization;
using System.Text;
using RuntimeAuthz.Evidence;

namespace RuntimeAuthz.Testing.Chaos;

/// <summary>What one scenario counted: answers by outcome, and every way the evidence or the state could disagree with them.</summary>
public sealed record ChaosReport
{
    public required string Scenario { get; init; }
    public int Silos { get; init; }
    public int Sessions { get; init; }
    public int Calls { get; init; }
    public int Allowed { get; init; }
    public int Denied { get; init; }
    /// <summary>Denies by reason (policy denies have none: "forbidden").</summary>
    public IReadOnlyDictionary<string, int> DenyReasons { get; init; } = new Dictionary<string, int>();
    /// <summary>Calls that got no decision (connection lost, timeout, non-200): the caller denies.</summary>
    public int NoAnswer { get; init; }
    public int AllowsWithoutEvidence { get; init; }
    /// <summary>Answered calls whose (last) record says another outcome than the answer.</summary>
    public int RecordsDisagreeing { get; init; }
    /// <summary>Calls without an answer whose record says Allow (the caller denied; the tool never ran).</summary>
    public int UnansweredWithAllowRecord { get; init; }
    /// <summary>Decision records matching no call the load made.</summary>
    public int RecordsWithoutCall { get; init; }
    /// <summary>An allowed answer's cumulative risk below an earlier one of its session, or a session's final risk or decision count below what was answered or recorded.</summary>
    public int StateBackwards { get; init; }
    public int ChainsVerified { get; init; }
    public IReadOnlyList<string> BrokenChains { get; init; } = [];
    public int EvidenceRecords { get; init; }
    /// <summary>The first few calls whose record disagrees with what the caller saw, for the report.</summary>
    public IReadOnlyList<string> Disagreements { get; init; } = [];
    /// <summary>From the end of the fault until every session had an Allow again (null: not every session recovered).</summary>
    public TimeSpan? Recovery { get; init; }
    public TimeSpan Fault { get; init; }
    public TimeSpan LoadDuration { get; init; }
    public string Notes { get; init; } = "";

    public double AllowsPerSecond => LoadDuration.TotalSeconds > 0 ? Allowed / LoadDuration.TotalSeconds : 0;

    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{Scenario}: {Calls} calls from {Sessions} sessions on {Silos} silos in {LoadDuration.TotalSeconds:0.0} s; ");
        text.Append(CultureInfo.InvariantCulture, $"{Allowed} Allow, {Denied} Deny ({string.Join(", ", DenyReasons.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Value} {r.Key}"))}), {NoAnswer} no answer; ");
        text.Append(CultureInfo.InvariantCulture, $"{AllowsWithoutEvidence} allows without evidence, {RecordsDisagreeing} records disagreeing with answers, ");
        text.Append(CultureInfo.InvariantCulture, $"{UnansweredWithAllowRecord} unanswered calls recorded Allow, {RecordsWithoutCall} records without a call, {StateBackwards} state going backwards; ");
        text.Append(CultureInfo.InvariantCulture, $"{ChainsVerified} chains verified ({EvidenceRecords} records), {BrokenChains.Count} broken; ");
        text.Append(CultureInfo.InvariantCulture, $"fault {Fault.TotalSeconds:0.0} s, recovery {(Recovery is { } r ? r.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s" : "NOT REACHED")}");
        if (Notes.Length > 0) text.Append("; ").Append(Notes);
        foreach (var example in Disagreements) text.Append("; e.g. ").Append(example);
        return text.ToString();
    }
}

/// <summary>
/// Reads every chain straight from the evidence table and verifies it as <c>authz evidence verify --all
/// --connection-string</c> does (the same store and verifier; session chains must hold at least the session's
/// decision count), then matches each decision record to the call it answered.
/// </summary>
public static class ChaosAudit
{
    public static async Task<ChaosReport> AuditAsync(ChaosCluster cluster, DecisionLoad load, IReadOnlyList<CallRecord> calls, ChaosReport partial)
    {
        var store = new AzureTableEvidenceStore(cluster.DirectConnectionString);
        using var keys = new EvidencePublicKeys();
        foreach (var (id, pem) in await store.ListPublicKeysAsync()) keys.Add(id, pem);

        var broken = new List<string>();
        var verified = 0;
        var records = 0;
        var disagreeing = 0;
        var withoutEvidence = 0;
        var unansweredAllowed = 0;
        var withoutCall = 0;
        var backwards = 0;
        var examples = new List<string>();
        void Example(CallRecord call, string? recorded)
        {
            if (examples.Count < 3)
                examples.Add($"call {call.Index} of session {call.Session[..8]} answered {call.Outcome ?? "nothing"} ({call.DenyReason ?? call.Failure ?? "-"}) at {call.Ended.TotalSeconds:0.0} s, recorded {recorded}");
        }
        var chains = (await store.ListChainsAsync()).ToHashSet(StringComparer.Ordinal);
        chains.Add(EvidenceChains.Governance);
        var sessionChains = load.Sessions.ToDictionary(EvidenceChains.ForSession, s => s, StringComparer.Ordinal);
        foreach (var chain in chains.Order(StringComparer.Ordinal))
        {
            var entries = await store.ReadChainAsync(chain);
            records += entries.Count;
            long minimum = 0;
            var state = sessionChains.TryGetValue(chain, out var session) ? await cluster.GetSessionAsync(session) : null;
            if (state is not null) minimum = state["decisionCount"]!.GetValue<long>();
            var result = EvidenceVerifier.Verify(chain, entries, keys, minimum);
            if (result.Valid) verified++;
            else broken.Add(result.ToString());
            if (session is null) continue;

            // The last record of a call is what the caller was told (a superseding record replaces an earlier one).
            var decisions = entries.Select(e => EvidenceSealer.ParseBody(e.Body)).Where(b => b.Kind == EvidenceKinds.Decision).ToArray();
            var byCall = decisions.GroupBy(b => (b.Action ?? "", b.Resource ?? "")).ToDictionary(g => g.Key, g => g.MaxBy(b => b.Sequence)!);
            var mine = calls.Where(c => c.Session == session).ToArray();
            var made = mine.Select(c => (c.Action, c.Resource)).ToHashSet();
            withoutCall += byCall.Keys.Count(k => !made.Contains(k));
            foreach (var call in mine)
            {
                var recorded = byCall.GetValueOrDefault((call.Action, call.Resource))?.Outcome;
                if (call.Outcome is null)
                {
                    if (recorded == "Allow") { unansweredAllowed++; Example(call, recorded); }
                }
                else if (call.Outcome == "Allow" && recorded is null)
                {
                    withoutEvidence++;
                }
                else if (recorded is not null && recorded != call.Outcome)
                {
                    disagreeing++;
                    Example(call, recorded);
                }
            }

            long highest = 0;
            foreach (var allowed in mine.Where(c => c.Outcome == "Allow" && c.CumulativeRisk is not null).OrderBy(c => c.Ended))
            {
                if (allowed.CumulativeRisk < highest) backwards++;
                highest = Math.Max(highest, allowed.CumulativeRisk!.Value);
            }
            if (state is null)
            {
                broken.Add($"{chain}: the session could not be read back");
                continue;
            }
            if (state["cumulativeRisk"]!.GetValue<long>() < highest) backwards++;
            var distinctDecisions = decisions.Select(d => d.DecisionId).Distinct().Count();
            if (state["decisionCount"]!.GetValue<long>() < distinctDecisions) backwards++;
        }

        var answered = calls.Where(c => c.Outcome is not null).ToArray();
        return partial with
        {
            Sessions = load.Sessions.Count,
            Calls = calls.Count,
            Allowed = answered.Count(c => c.Outcome == "Allow"),
            Denied = answered.Count(c => c.Outcome != "Allow"),
            DenyReasons = answered.Where(c => c.Outcome != "Allow").GroupBy(c => c.DenyReason ?? "forbidden").ToDictionary(g => g.Key, g => g.Count()),
            NoAnswer = calls.Count - answered.Length,
            AllowsWithoutEvidence = withoutEvidence,
            RecordsDisagreeing = disagreeing,
            UnansweredWithAllowRecord = unansweredAllowed,
            RecordsWithoutCall = withoutCall,
            StateBackwards = backwards,
            ChainsVerified = verified,
            BrokenChains = broken,
            EvidenceRecords = records,
            Disagreements = examples,
            LoadDuration = calls.Count == 0 ? TimeSpan.Zero : calls.Max(c => c.Ended) - calls.Min(c => c.Started),
        };
    }
}
