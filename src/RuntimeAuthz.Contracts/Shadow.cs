namespace RuntimeAuthz.Contracts;

/// <summary>
/// One decision on which the live policy and a shadow version (or a live version's log-only
/// policies, enforced) disagreed: what each concluded and which policies determined it.
/// </summary>
[GenerateSerializer, Immutable, Alias("authz.ShadowDisagreement")]
public sealed record ShadowDisagreement
{
    [Id(0)] public Guid DecisionId { get; init; }
    [Id(1)] public string SessionId { get; init; } = "";
    [Id(2)] public string AgentId { get; init; } = "";
    [Id(3)] public string Action { get; init; } = "";
    [Id(4)] public string Resource { get; init; } = "";
    /// <summary>The version that decided the call.</summary>
    [Id(5)] public long LiveVersion { get; init; }
    [Id(6)] public DecisionOutcome LiveOutcome { get; init; }
    [Id(7)] public DecisionOutcome ShadowOutcome { get; init; }
    [Id(8)] public IReadOnlyList<string> LivePolicies { get; init; } = [];
    [Id(9)] public IReadOnlyList<string> ShadowPolicies { get; init; } = [];
    /// <summary>The decision's time.</summary>
    [Id(10)] public DateTimeOffset At { get; init; }
}

/// <summary>How many comparisons went from one outcome (live) to another (shadow).</summary>
[GenerateSerializer, Immutable, Alias("authz.ShadowDirection")]
public sealed record ShadowDirection
{
    [Id(0)] public DecisionOutcome Live { get; init; }
    [Id(1)] public DecisionOutcome Shadow { get; init; }
    [Id(2)] public long Count { get; init; }
}

/// <summary>Comparisons a silo made for one version since its last flush.</summary>
[GenerateSerializer, Immutable, Alias("authz.ShadowBatch")]
public sealed record ShadowBatch
{
    /// <summary>Decisions evaluated against the version.</summary>
    [Id(0)] public long Evaluated { get; init; }
    /// <summary>Evaluations that failed (logged; the live answer never depends on them).</summary>
    [Id(1)] public long Failures { get; init; }
    /// <summary>Decisions not evaluated because the silo's shadow queue was full.</summary>
    [Id(2)] public long Skipped { get; init; }
    /// <summary>Disagreements by direction (counts are exact; agreements are not listed).</summary>
    [Id(3)] public IReadOnlyList<ShadowDirection> Directions { get; init; } = [];
    /// <summary>Examples, oldest first (the newest few of the batch).</summary>
    [Id(4)] public IReadOnlyList<ShadowDisagreement> Examples { get; init; } = [];
}

/// <summary>The comparison report of one version: exact counts, and the newest disagreements.</summary>
[GenerateSerializer, Immutable, Alias("authz.ShadowReport")]
public sealed record ShadowReport
{
    [Id(0)] public long Version { get; init; }
    [Id(1)] public long Evaluated { get; init; }
    [Id(2)] public long Disagreements { get; init; }
    [Id(3)] public long Failures { get; init; }
    [Id(4)] public long Skipped { get; init; }
    [Id(5)] public IReadOnlyList<ShadowDirection> Directions { get; init; } = [];
    /// <summary>The newest disagreements, newest first (at most the report's example limit).</summary>
    [Id(6)] public IReadOnlyList<ShadowDisagreement> Examples { get; init; } = [];
    [Id(7)] public DateTimeOffset? UpdatedAt { get; init; }
}

/// <summary>The report of one version (key = version number); silos add their batches, one writer keeps the counts exact.</summary>
[Alias("authz.IShadowReportGrain")]
public interface IShadowReportGrain : IGrainWithIntegerKey
{
    [Alias("Add")] Task Add(ShadowBatch batch);

    [Alias("Get")] Task<ShadowReport> Get();
}
