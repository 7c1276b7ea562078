using System.Diagnostics;
using System.Diagnostics.Metrics;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains.Telemetry;

/// <summary>
/// The service's one <see cref="Meter"/> and one <see cref="ActivitySource"/> (both named <see cref="Name"/>), and every instrument
/// on them. Attributes are bounded and never sensitive: outcomes, deny-reason codes, evidence statuses, revocation scopes and the
/// silo; never tool inputs, resources, tokens or caller subjects, and no agent or session ids (unbounded cardinality) on metrics.
/// Spans may name the agent, session and decision (see docs/observability.md).
/// </summary>
public sealed class AuthzMetrics
{
    public const string Name = "RuntimeAuthz";

    public const string Decisions = "authz.decisions";
    public const string DecisionDuration = "authz.decision.duration";
    public const string EvidenceAppendDuration = "authz.evidence.append.duration";
    public const string EvidenceBatchSize = "authz.evidence.append.batch_size";
    public const string ApprovalsPending = "authz.approvals.pending";
    public const string ApprovalsOldestPendingAge = "authz.approvals.pending.oldest_age";
    public const string Revocations = "authz.revocations";
    public const string PolicyVersion = "authz.policy.version";
    public const string SessionsActive = "authz.sessions.active";
    public const string ShadowComparisons = "authz.shadow.comparisons";
    public const string EntityStoreVersion = "authz.entities.version";

    /// <summary>Every instrument name, for the lead's and the tests' lists.</summary>
    public static readonly IReadOnlyList<string> InstrumentNames =
    [
        Decisions, DecisionDuration, EvidenceAppendDuration, EvidenceBatchSize, ApprovalsPending, ApprovalsOldestPendingAge,
        Revocations, PolicyVersion, SessionsActive, ShadowComparisons, EntityStoreVersion,
    ];

    /// <summary>Spans of our own: the evidence append (its storage requests are the Azure SDK's children of it).</summary>
    public static readonly ActivitySource ActivitySource = new(Name);

    // Latencies of a decision and of an append sit between a millisecond and a few seconds (the append timeout).
    private static readonly IReadOnlyList<double> LatencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    private static readonly IReadOnlyList<int> BatchBuckets = [1, 2, 5, 10, 20, 50, 100];

    private readonly Counter<long> decisions;
    private readonly Histogram<double> decisionDuration;
    private readonly Histogram<double> appendDuration;
    private readonly Histogram<int> batchSize;
    private readonly Counter<long> revocations;
    private readonly UpDownCounter<long> sessionsActive;
    private readonly Counter<long> shadowComparisons;
    private readonly AuthzClock clock;
    /// <summary>Real time for durations (the authorization clock may be a test's fake).</summary>
    private readonly TimeProvider time;
    /// <summary>The pending approvals the directory grain last reported on this silo (empty where it is not active).</summary>
    private volatile IReadOnlyList<(DateTimeOffset RequestedAt, DateTimeOffset ExpiresAt)> pending = [];

    /// <param name="siloName">Tags the per-silo gauges; resolved when observed (the silo's address is known once it runs).</param>
    public AuthzMetrics(IMeterFactory meters, TimeProvider time, AuthzClock clock, PolicyCache policyCache, Entities.EntityCache entities, Func<string> siloName)
    {
        this.time = time;
        this.clock = clock;
        var meter = meters.Create(Name);
        decisions = meter.CreateCounter<long>(Decisions, "{decision}", "Decisions answered, by outcome and deny reason");
        decisionDuration = meter.CreateHistogram(DecisionDuration, "s", "Time a session grain took to decide and record a call, by outcome",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        appendDuration = meter.CreateHistogram(EvidenceAppendDuration, "s", "Time to seal and durably append one evidence record, by chain kind and status",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        batchSize = meter.CreateHistogram(EvidenceBatchSize, "{record}", "Evidence records carried by one storage request (a transaction batches a partition's queue)",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = BatchBuckets });
        revocations = meter.CreateCounter<long>(Revocations, "{grant}", "Grants revoked by governance (cascades included), by scope of the request");
        sessionsActive = meter.CreateUpDownCounter<long>(SessionsActive, "{session}", "Open sessions whose grain is active on this silo");
        meter.CreateObservableGauge(ApprovalsPending, () => CountPending(), "{request}", "Approval requests waiting for a decision (reported by the silo holding the directory)");
        meter.CreateObservableGauge(ApprovalsOldestPendingAge, () => OldestPendingAge(), "s", "Age of the oldest approval request waiting for a decision");
        meter.CreateObservableGauge(PolicyVersion, () => new Measurement<long>(policyCache.Version, new KeyValuePair<string, object?>("silo", siloName())),
            "{version}", "Policy version this silo's cache decides with");
        meter.CreateObservableGauge(EntityStoreVersion, () => new Measurement<long>(entities.Version, new KeyValuePair<string, object?>("silo", siloName())),
            "{version}", "Entity store version this silo's copy decides with");
        shadowComparisons = meter.CreateCounter<long>(ShadowComparisons, "{comparison}",
            "Decisions also evaluated against a shadow version (or a live version's log-only policies), by version and result: agree, disagree, failed, skipped");
    }

    /// <summary>One shadow comparison of a decision against <paramref name="version"/>: agree, disagree, failed or skipped.</summary>
    public void ShadowCompared(long version, string result) =>
        shadowComparisons.Add(1, new KeyValuePair<string, object?>("version", version), new KeyValuePair<string, object?>("result", result));

    /// <summary>When a measured operation started (pass it back to the method that records it).</summary>
    public long Timestamp() => time.GetTimestamp();

    private double SecondsSince(long started) => time.GetElapsedTime(started).TotalSeconds;

    /// <summary>A decision as answered (after its record); tags the current span too.</summary>
    public void Decided(AuthzDecision decision, long started)
    {
        var outcome = new KeyValuePair<string, object?>("outcome", decision.Outcome.ToString());
        if (decision.DenyReason is { } reason) decisions.Add(1, outcome, new KeyValuePair<string, object?>("deny_reason", reason));
        else decisions.Add(1, outcome);
        decisionDuration.Record(SecondsSince(started), outcome);
        if (Activity.Current is { IsAllDataRequested: true } span)
        {
            span.SetTag("authz.outcome", decision.Outcome.ToString());
            span.SetTag("authz.deny_reason", decision.DenyReason);
            span.SetTag("authz.policy_version", decision.PolicyVersion);
            span.SetTag("authz.decision_id", decision.DecisionId.ToString());
        }
    }

    /// <summary>Starts the span of one append (null without a listener, so free when nobody traces).</summary>
    public static Activity? StartAppend(string chain, long sequence)
    {
        var span = ActivitySource.StartActivity("evidence append", ActivityKind.Internal);
        span?.SetTag("authz.evidence.chain_kind", ChainKind(chain));
        span?.SetTag("authz.evidence.sequence", sequence);
        return span;
    }

    public void Appended(Activity? span, string chain, string status, long started)
    {
        span?.SetTag("authz.evidence.status", status);
        if (status != "durable") span?.SetStatus(ActivityStatusCode.Error, status);
        appendDuration.Record(SecondsSince(started), new KeyValuePair<string, object?>("chain_kind", ChainKind(chain)), new KeyValuePair<string, object?>("status", status));
    }

    /// <summary>One storage request of the evidence store carried <paramref name="records"/> records.</summary>
    public void EvidenceBatchSent(int records) => batchSize.Record(records);

    public void Revoked(string scope, int grants)
    {
        if (grants > 0) revocations.Add(grants, new KeyValuePair<string, object?>("scope", scope));
    }

    /// <summary>Moves the active-sessions count when a session grain's open/closed view changes; returns what is now counted.</summary>
    public bool TrackSession(bool counted, bool open)
    {
        if (open != counted) sessionsActive.Add(open ? 1 : -1);
        return open;
    }

    /// <summary>The directory grain's pending requests (empty when it deactivates).</summary>
    public void PendingApprovals(IEnumerable<ApprovalSummary> entries) =>
        pending = [.. entries.Where(e => e.Status == ApprovalStatus.Pending).Select(e => (e.RequestedAt, e.ExpiresAt))];

    private Measurement<long> CountPending()
    {
        var now = clock.UtcNow;
        return new(pending.Count(p => p.ExpiresAt > now));
    }

    private Measurement<double> OldestPendingAge()
    {
        var now = clock.UtcNow;
        var waiting = pending.Where(p => p.ExpiresAt > now).ToArray();
        return new(waiting.Length == 0 ? 0 : Math.Max(0, (now - waiting.Min(p => p.RequestedAt)).TotalSeconds));
    }

    private static string ChainKind(string chain) => chain == RuntimeAuthz.Evidence.EvidenceChains.Governance ? "governance" : "session";
}
