using Microsoft.Extensions.Logging;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains.Decisions;
using RuntimeAuthz.Grains.Governance;
using RuntimeAuthz.Policy.Temporal;

namespace RuntimeAuthz.Grains.Shadow;

/// <summary>A decision the live policy made, with everything a shadow version needs to decide it again.</summary>
public sealed record ShadowCall(
    IReadOnlyList<CompiledPolicy> Candidates, IReadOnlyDictionary<CompiledPolicy, TemporalSessionState> StartHistories,
    AgentInfo Agent, CedarRequestBuilder.SessionFacts Facts, DecisionCall Call, GrantAuthority.Resolution Authority, Verdict Live);

/// <summary>
/// One session's shadow evaluations. They run one at a time, in the order of the session's
/// decisions, on the thread pool after the live answer was sealed, so they never change or hold up
/// an answer. Each candidate (a shadow version, or the live version with its log-only policies
/// enforced) keeps its own temporal history, which starts as the session's history was just before
/// the first decision it saw and then records the same events as the live one.
/// </summary>
public sealed class SessionShadow(ShadowReporter reporter, ILogger logger)
{
    /// <summary>Shadow work waiting in one session; past it decisions are counted as skipped (and the shadow histories miss them).</summary>
    public const int MaxQueued = 256;

    // Touched only in the grain's turns.
    private readonly HashSet<CompiledPolicy> started = new(ReferenceEqualityComparer.Instance);
    private Task tail = Task.CompletedTask;
    private int queued;
    // Touched only by the queued work (one at a time).
    private readonly Dictionary<CompiledPolicy, TemporalHistoryKeeper> histories = new(ReferenceEqualityComparer.Instance);

    /// <summary>What to compare a decision of <paramref name="live"/> with: the active shadow versions, and the live version with its log-only policies enforced.</summary>
    public static IReadOnlyList<CompiledPolicy> CandidatesFor(CompiledPolicy live, IReadOnlyList<CompiledPolicy> shadows) =>
        live.LogOnlyEnforced is { } enforced ? [.. shadows, enforced] : shadows;

    /// <summary>
    /// In the grain's turn, before the live policy records the request: the session's history for
    /// each candidate seen for the first time that has temporal conditions.
    /// </summary>
    public IReadOnlyDictionary<CompiledPolicy, TemporalSessionState> Prepare(IReadOnlyList<CompiledPolicy> candidates, TemporalHistoryKeeper live)
    {
        started.IntersectWith(candidates);
        Dictionary<CompiledPolicy, TemporalSessionState>? starts = null;
        foreach (var candidate in candidates)
        {
            if (started.Contains(candidate) || !candidate.Temporal.HasTemporalConditions) continue;
            (starts ??= new(ReferenceEqualityComparer.Instance))[candidate] = live.Export();
        }
        return starts ?? (IReadOnlyDictionary<CompiledPolicy, TemporalSessionState>)EmptyStarts;
    }

    private static readonly Dictionary<CompiledPolicy, TemporalSessionState> EmptyStarts = [];

    /// <summary>In the grain's turn, after the answer: queues the comparisons.</summary>
    public void Enqueue(ShadowCall call)
    {
        if (!TryReserve())
        {
            foreach (var candidate in call.Candidates) reporter.Skipped(candidate.Version);
            return;
        }
        started.UnionWith(call.Candidates);
        Chain(() => Compare(call));
    }

    /// <summary>In the grain's turn: a reported outcome (or granted approval) joins every candidate's history, as it joined the live one.</summary>
    public void Record(TemporalEvent? recorded, string sessionId)
    {
        if (recorded is null || started.Count == 0 || !TryReserve()) return;
        Chain(() =>
        {
            foreach (var (candidate, history) in histories) history.Record(candidate, recorded, sessionId);
        });
    }

    private bool TryReserve()
    {
        if (Interlocked.Increment(ref queued) <= MaxQueued) return true;
        Interlocked.Decrement(ref queued);
        return false;
    }

    private void Chain(Action work) =>
        tail = tail.ContinueWith(_ =>
        {
            try { work(); }
            catch (Exception ex) { logger.LogWarning(ex, "Shadow work failed"); }
            finally { Interlocked.Decrement(ref queued); }
        }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);

    private void Compare(ShadowCall call)
    {
        foreach (var gone in histories.Keys.Where(c => !call.Candidates.Contains(c)).ToArray()) histories.Remove(gone);
        foreach (var candidate in call.Candidates)
        {
            try
            {
                var verdict = Decide(candidate, call);
                reporter.Compared(candidate.Version, Disagreement(call, verdict));
            }
            catch (Exception ex)
            {
                reporter.Failed(candidate.Version);
                logger.LogWarning(ex, "Shadow evaluation of decision {DecisionId} against version {Version} failed; the live answer is unaffected", call.Call.DecisionId, candidate.Version);
            }
        }
    }

    private Verdict Decide(CompiledPolicy candidate, ShadowCall call)
    {
        if (!histories.TryGetValue(candidate, out var history))
            histories[candidate] = history = new TemporalHistoryKeeper(call.StartHistories.GetValueOrDefault(candidate));
        return EvaluationStage.Evaluate(candidate, call.Agent, call.Facts, call.Call, call.Authority, (request, entities) =>
            history.Decide(candidate, request, entities, call.Call.DecisionId, call.Call.Now, call.Call.SessionId).Response);
    }

    /// <summary>The record of a comparison whose outcomes differ; null when they agree.</summary>
    public static ShadowDisagreement? Disagreement(ShadowCall call, Verdict shadow) =>
        shadow.Outcome == call.Live.Outcome ? null : new ShadowDisagreement
        {
            DecisionId = call.Call.DecisionId, SessionId = call.Call.SessionId, AgentId = call.Agent.Id, Action = call.Call.Request.Action,
            Resource = call.Call.ResourceLiteral, LiveVersion = call.Live.PolicyVersion, LiveOutcome = call.Live.Outcome, ShadowOutcome = shadow.Outcome,
            LivePolicies = call.Live.Reasons, ShadowPolicies = shadow.Reasons, At = call.Call.Now,
        };
}
