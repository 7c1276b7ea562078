namespace RuntimeAuthz.Client;

/// <summary>How many compared decisions went from one outcome (live) to another (shadow).</summary>
public sealed record ShadowDirection(string Live, string Shadow, long Count);

/// <summary>One decision on which the live policy and the shadow (or the log-only policies, enforced) disagreed.</summary>
public sealed record ShadowDisagreement(string DecisionId, string SessionId, string AgentId, string Action, string Resource, long LiveVersion,
    string LiveOutcome, string ShadowOutcome, IReadOnlyList<string> LivePolicies, IReadOnlyList<string> ShadowPolicies, DateTimeOffset At);

/// <summary><c>GET /v1/policies/{version}/shadow-report</c>: exact counts, and the newest disagreements first.</summary>
/// <param name="Mode"><c>shadow</c> or <c>log-only</c>.</param>
/// <param name="Status">shadow: <c>active</c>, <c>promoted</c>, <c>discarded</c>; log-only: <c>current</c>, <c>superseded</c>.</param>
public sealed record ShadowReport(long Version, string Mode, string Status, IReadOnlyList<string> LogOnlyPolicies, long Evaluated, long Disagreements,
    long Failures, long Skipped, IReadOnlyList<ShadowDirection> Directions, IReadOnlyList<ShadowDisagreement> Examples, DateTimeOffset? UpdatedAt);

/// <summary>Body of <c>POST /v1/policies/{version}/promote</c> and <c>/discard</c>.</summary>
public sealed record ShadowActionRequest(string? Note = null);

public sealed partial class AuthzClient
{
    public Task<ShadowReport> GetShadowReportAsync(long version, CancellationToken cancellationToken = default) =>
        SendAsync<ShadowReport>(HttpMethod.Get, $"v1/policies/{version}/shadow-report", null, cancellationToken);

    /// <summary>Publishes the shadow version's texts as the next live version (returned).</summary>
    public Task<PolicyVersion> PromoteShadowAsync(long version, ShadowActionRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<PolicyVersion>(HttpMethod.Post, $"v1/policies/{version}/promote", request, cancellationToken);

    /// <summary>Stops evaluating the shadow version (returned); its report stays readable.</summary>
    public Task<PolicyVersion> DiscardShadowAsync(long version, ShadowActionRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<PolicyVersion>(HttpMethod.Post, $"v1/policies/{version}/discard", request, cancellationToken);
}
