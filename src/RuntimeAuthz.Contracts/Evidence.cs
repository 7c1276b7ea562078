namespace RuntimeAuthz.Contracts;

/// <summary>A governance event to be recorded in the governance evidence chain.</summary>
[GenerateSerializer, Immutable, Alias("authz.GovernanceRecord")]
public sealed record GovernanceRecord
{
    /// <summary>Evidence kind, e.g. <c>policy-publish</c>, <c>revocation</c>, <c>agent-status</c>, <c>approval</c>.</summary>
    [Id(0)] public string Kind { get; init; } = "";
    [Id(1)] public string Actor { get; init; } = "";
    [Id(2)] public DateTimeOffset At { get; init; }
    [Id(3)] public string? AgentId { get; init; }
    [Id(4)] public string? SessionId { get; init; }
    [Id(5)] public string? DecisionId { get; init; }
    /// <summary>What the event acted on (a grant, a policy version, a scope), in words or as a literal.</summary>
    [Id(6)] public string? Resource { get; init; }
    [Id(7)] public long? PolicyVersion { get; init; }
    [Id(8)] public IReadOnlyList<string> ApprovalIds { get; init; } = [];
    [Id(9)] public string? Detail { get; init; }
    /// <summary>JSON object: the event's inputs (digested in full, stored redacted).</summary>
    [Id(10)] public string? InputJson { get; init; }
    /// <summary>The governance sub-kind as reported (e.g. <c>revoke-grant</c>), kept as the record's action.</summary>
    [Id(11)] public string? Action { get; init; }
}

/// <summary>The single writer of the governance evidence chain (key 0): appends in call order.</summary>
[Alias("authz.IGovernanceEvidenceGrain")]
public interface IGovernanceEvidenceGrain : IGrainWithIntegerKey
{
    /// <summary>Appends the record; false when it could not be persisted (the caller decides what that means).</summary>
    [Alias("Record")] Task<bool> Record(GovernanceRecord record);
}
