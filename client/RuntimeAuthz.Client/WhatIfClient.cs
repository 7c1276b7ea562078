using System.Text.Json;

namespace RuntimeAuthz.Client;

/// <summary>Body of <c>POST /v1/policies/what-if</c>: candidate texts and which recorded decisions to re-decide.</summary>
/// <param name="Since">An ISO 8601 time or a duration back from now (<c>7d</c>, <c>24h</c>).</param>
public sealed record WhatIfRequest(
    string Policies, string? Schema = null, JsonElement? Catalog = null, string? Since = null, string? Agent = null, string? Fleet = null,
    int? MaxDecisions = null, int? TimeoutSeconds = null);

/// <summary>One recorded decision and what the candidate decides; <c>Status</c> is <c>Replayed</c>, <c>DecidedBeforePolicy</c> or <c>NotReplayable</c>.</summary>
public sealed record WhatIfDecision(
    string DecisionId, string SessionId, string AgentId, DateTimeOffset At, string Action, string Resource,
    string RecordedOutcome, string? RecordedDenyReason, IReadOnlyList<string> RecordedPolicies, long? RecordedVersion,
    string Status, string? CandidateOutcome, string? CandidateDenyReason, IReadOnlyList<string> CandidatePolicies, string? NotReplayableReason);

public sealed record WhatIfChange(string From, string To, int Count);

/// <summary>Changed decisions of one policy (the candidate's deciding policy) or one agent.</summary>
public sealed record WhatIfGroup(string Key, int Changed, int AllowToDeny, int DenyToAllow, int Other, IReadOnlyList<string> ExampleDecisionIds);

/// <summary>The what-if report: how many recorded outcomes the candidate changes, which way, where, with examples.</summary>
public sealed record WhatIfResult(
    int Sessions, int Decisions, int Replayed, int Changed, int Unchanged, int DecidedBeforePolicy, int NotReplayable,
    IReadOnlyDictionary<string, int> NotReplayableByReason, IReadOnlyList<WhatIfChange> Changes,
    IReadOnlyList<WhatIfGroup> ByPolicy, IReadOnlyList<WhatIfGroup> ByAgent,
    IReadOnlyList<WhatIfDecision> Examples, IReadOnlyList<WhatIfDecision> NotReplayableExamples, bool Truncated);

public sealed partial class AuthzClient
{
    /// <summary>Re-decides recorded decisions with candidate policy texts, in the cluster (nothing is published).</summary>
    public Task<WhatIfResult> WhatIfAsync(WhatIfRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<WhatIfResult>(HttpMethod.Post, "v1/policies/what-if", request, cancellationToken);
}
