using Microsoft.Extensions.DependencyInjection;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains.Decisions;
using RuntimeAuthz.Grains.Governance;
using RuntimeAuthz.Grains.Sessions;
using RuntimeAuthz.Grains.Shadow;
using RuntimeAuthz.Policy.Temporal;

namespace RuntimeAuthz.Grains;

/// <summary>
/// The decision path's shadow hook: a decision the policies made is compared with the active
/// shadow versions (and the live version's log-only policies, enforced) once its answer is sealed.
/// Nothing here can change or delay the answer: the comparisons run after it, off the grain's turn.
/// </summary>
public sealed partial class AgentSessionGrain
{
    private SessionShadow? shadow;
    private bool shadowResolved;
    /// <summary>Set while the current decision's policies decide (the grain's turns do not interleave).</summary>
    private (IReadOnlyList<CompiledPolicy> Candidates, IReadOnlyDictionary<CompiledPolicy, TemporalSessionState> Starts)? shadowStart;
    private ShadowCall? pendingShadow;

    private SessionShadow? Shadow
    {
        get
        {
            if (shadowResolved) return shadow;
            shadowResolved = true;
            return shadow = ServiceProvider.GetService<ShadowReporter>() is { } reporter ? new SessionShadow(reporter, logger) : null;
        }
    }

    /// <summary>Just before the live policy decides (and records the request in the session's history).</summary>
    private void PrepareShadow(SessionLedger current, CompiledPolicy live)
    {
        shadowStart = null;
        var candidates = SessionShadow.CandidatesFor(live, policyCache.Shadows);
        // No shadow state is made before there is a candidate (most sessions never see one); one made earlier forgets its candidates.
        if (candidates.Count == 0)
        {
            shadow?.Prepare(candidates, current.Temporal);
            return;
        }
        if (Shadow is not { } sessionShadow) return;
        shadowStart = (candidates, sessionShadow.Prepare(candidates, current.Temporal));
    }

    /// <summary>After the policies decided: what the comparison needs, kept until the answer is sealed.</summary>
    /// <param name="stored">The entity store copy the live decision read (the shadow reads the same).</param>
    private void NoteShadowCall(AgentInfo agent, CedarRequestBuilder.SessionFacts facts, DecisionCall call, GrantAuthority.Resolution authority, Verdict live, Entities.EntitySnapshot stored)
    {
        if (shadowStart is not { } start) return;
        shadowStart = null;
        pendingShadow = new ShadowCall(start.Candidates, start.Starts, agent, facts, call, authority, live, stored);
    }

    /// <summary>The answer is sealed: queue the comparison, unless the answer is not what the policies said (no evidence, internal error).</summary>
    private void StartShadow(Verdict decided, AuthzDecision answer)
    {
        var call = pendingShadow;
        pendingShadow = null;
        shadowStart = null;
        if (call is null || shadow is null || call.Call.DecisionId != answer.DecisionId) return;
        if (answer.Outcome != decided.Outcome || answer.DenyReason != decided.DenyReason || answer.DenyReason == DenyReasons.InternalError) return;
        shadow.Enqueue(call);
    }

    /// <summary>A reported outcome or granted approval joined the live history: it joins the shadow histories too.</summary>
    private void RecordForShadow(TemporalEvent? recorded) => shadow?.Record(recorded, SessionId);
}
