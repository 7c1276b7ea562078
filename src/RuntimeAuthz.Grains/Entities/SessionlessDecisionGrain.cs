using Microsoft.Extensions.Logging;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;
using RuntimeAuthz.Grains.Decisions;
using RuntimeAuthz.Grains.Evidence;
using RuntimeAuthz.Grains.Fleet;
using RuntimeAuthz.Policy;

namespace RuntimeAuthz.Grains.Entities;

/// <summary>
/// Session-less decisions of one principal (key = <see cref="KeyOf"/>). No temporal history: temporal
/// conditions see an empty one, and nothing is kept between decisions but the chain's head. Each decision
/// is sealed into the principal's own chain before it is answered; no durable record, no allow.
/// An agent is decided through its grants as in a session (no session facts, no elevations, no approvals).
/// </summary>
public sealed partial class SessionlessDecisionGrain(
    PolicyCache policyCache,
    EntityCache entityCache,
    AuthzClock clock,
    EvidenceRecorder evidence,
    Governance.AuthorityView authorityView,
    ILogger<SessionlessDecisionGrain> logger) : Grain, ISessionlessDecisionGrain
{
    private static readonly TimeSpan DependencyTimeout = AgentSessionGrain.DecisionDependencyTimeout;
    private const string ApprovalNeedsSession = "the permitting policies require approval, which is given only to calls in an agent session";

    private string Chain => EvidenceChains.ForSessionless(this.GetPrimaryKeyString());
    /// <summary>Null until read from the store (and again after an append whose fate is unknown).</summary>
    private EvidenceHead? head;
    /// <summary>A record whose append was not confirmed, with the Deny the caller was told instead.</summary>
    private EvidenceBody? unconfirmed;

    /// <summary>The grain key (and chain suffix) of a principal: <c>Type::id</c>, escaped for table keys; '|' separates a chain from its sequence.</summary>
    public static string KeyOf(EntityKey principal) => FleetIndex.EscapeKey($"{principal.Type}::{principal.Id}").Replace("|", "%7C", StringComparison.Ordinal);

    public async Task<AuthzDecision> Decide(SessionlessDecisionRequest request)
    {
        var call = new DecisionCall("", request.Request.DecisionId ?? Guid.NewGuid(), clock.UtcNow, request.Request);
        var agentId = request.Principal.Type == CedarRequestBuilder.AgentType ? request.Principal.Id : "";
        Verdict verdict;
        try
        {
            verdict = await DecideAsync(request, call);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Session-less decision {DecisionId} for {Principal} failed; denying", call.DecisionId, request.Principal);
            verdict = Denials.InternalError(policyCache.Version);
        }
        var answer = verdict.ToAnswer(call, agentId, 0);
        try
        {
            if (await RecordAsync(DecisionEvidence.Build(evidence.DecisionRedactor, call, answer, verdict.Detail) with { Chain = Chain, SessionId = null, AgentId = agentId.Length > 0 ? agentId : null }))
                return answer;
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Session-less decision {DecisionId} for {Principal} could not be recorded; denying", call.DecisionId, request.Principal);
            head = null;
        }
        return Denials.NoEvidence(verdict.PolicyVersion).ToAnswer(call, agentId, 0);
    }

    private async Task<Verdict> DecideAsync(SessionlessDecisionRequest request, DecisionCall call)
    {
        var policy = await policyCache.GetAsync().WaitAsync(DependencyTimeout);
        if (policy is null) return Denials.Deny(DenyReasons.NoPolicy);
        var stored = entityCache.Current;
        AuthorizationResponse Evaluate(AuthorizationRequest cedar, EntityStore entities) =>
            new TemporalHistoryKeeper(null).Decide(policy, cedar, entities, call.DecisionId, call.Now, this.GetPrimaryKeyString()).Response;

        Verdict verdict;
        if (request.Principal.Type == CedarRequestBuilder.AgentType)
        {
            var agent = await authorityView.AgentAsync(request.Principal.Id).AsTask().WaitAsync(DependencyTimeout);
            if (AuthorityStage.CheckIdentity(agent) is { } notActive) return notActive with { PolicyVersion = policy.Version };
            var (authority, unauthorized) = await AuthorityStage.ResolveGrantsAsync(authorityView, agent!, call, policy.Version).WaitAsync(DependencyTimeout);
            if (unauthorized is not null) return unauthorized;
            verdict = EvaluationStage.Evaluate(policy, agent!, new CedarRequestBuilder.SessionFacts("", 0, 0, 0), call, authority!, Evaluate, stored);
        }
        else
        {
            AuthorizationRequest cedar;
            EntityStore entities;
            try
            {
                (cedar, entities) = CedarRequestBuilder.BuildForSubject(new EntityUid(request.Principal.Type, request.Principal.Id), SubjectProperties(request.SubjectPropertiesJson), call,
                    policy.Catalog.DescribeForCedar(call.Request.Action), stored);
            }
            catch (Exception ex) when (ex is CedarSyntaxException or System.Text.Json.JsonException or ArgumentException or FormatException)
            {
                return Denials.Deny(DenyReasons.InvalidRequest, policy.Version, ex.Message);
            }
            verdict = EvaluationStage.Judge(policy, Evaluate(cedar, entities), "session-less") with { EntityStoreVersion = stored.Version };
        }
        // Approvals are bound to a session's call: without one, a call that needs approval cannot get it.
        return verdict.Outcome == DecisionOutcome.ApprovalRequired
            ? Denials.Deny(DenyReasons.NotPermitted, verdict.PolicyVersion, ApprovalNeedsSession) with { Reasons = verdict.Reasons, EntityStoreVersion = verdict.EntityStoreVersion }
            : verdict;
    }

    /// <summary>The trusted caller's subject properties: a JSON object's members; any other JSON value is none (as it always was).</summary>
    private static CedarJsonRecord? SubjectProperties(string? json)
    {
        if (json is null) return null;
        var read = CallerInput.ReadRecord(json, "subject.properties");
        if (read.Error is { Kind: CedarErrorKind.UnexpectedJsonValue } && !json.TrimStart().StartsWith('{') && CallerInput.IsJson(json)) return null;
        return read.Error is { } invalid ? throw invalid : read.Record;
    }

    /// <summary>True once the record is durable. An unconfirmed earlier record is settled first; until it is, nothing is recorded.</summary>
    private async Task<bool> RecordAsync(EvidenceBody body)
    {
        if (!evidence.Enabled) return true;
        if (unconfirmed is not null && !await SettleAsync()) return false;
        using var timeout = new CancellationTokenSource(DependencyTimeout);
        head ??= await evidence.Store.ReadHeadAsync(Chain, timeout.Token);
        var result = await evidence.TryAppendAsync(body, head);
        switch (result.Status)
        {
            case AppendStatus.Durable:
                head = result.Head;
                return true;
            case AppendStatus.Unknown when body.Outcome != nameof(DecisionOutcome.Deny):
                unconfirmed = body with
                {
                    Outcome = nameof(DecisionOutcome.Deny), DenyReason = EvidenceDenyReasons.NoEvidence, RiskAdded = null, DeterminingPolicies = [],
                    Detail = "the evidence record could not be confirmed in time",
                };
                await SettleAsync();
                return false;
            default:
                head = null; // conflict or not written: the next record reads the head again
                return false;
        }
    }

    /// <summary>
    /// Makes the chain say Deny for the unconfirmed call: the Deny takes the slot, or, when the original
    /// record got there first, a record superseding it follows. True once that is durable.
    /// </summary>
    private async Task<bool> SettleAsync()
    {
        var told = unconfirmed!;
        var slot = head!;
        var first = await evidence.TryAppendAsync(told, slot);
        if (first.Status == AppendStatus.Durable)
        {
            (head, unconfirmed) = (first.Head, null);
            return true;
        }
        if (first.Status != AppendStatus.Conflict) return false;
        using var timeout = new CancellationTokenSource(DependencyTimeout);
        var landed = (await evidence.Store.ReadRangeAsync(Chain, slot.Sequence, 1, timeout.Token)).FirstOrDefault();
        var current = await evidence.Store.ReadHeadAsync(Chain, timeout.Token);
        if (landed is null) return false;
        var original = EvidenceSealer.ParseBody(landed.Body);
        if (original.DecisionId != told.DecisionId || original.Outcome == nameof(DecisionOutcome.Deny))
        {
            (head, unconfirmed) = (current, null);
            return true;
        }
        var supersede = await evidence.TryAppendAsync(told with { Supersedes = landed.Sequence, Detail = $"supersedes record {landed.Sequence}: it was confirmed after the answer, which was Deny" }, current);
        if (supersede.Status != AppendStatus.Durable) return false;
        LogSuperseded(Chain, landed.Sequence, supersede.Head.Sequence);
        (head, unconfirmed) = (supersede.Head, null);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chain {Chain}: record {Sequence} landed after a Deny answer; superseded by record {Superseding}")]
    private partial void LogSuperseded(string chain, long sequence, long superseding);
}
