using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Silo.Http;

// The HTTP API's JSON shapes (see docs/http-api.md). Status words are lowercase on the wire.

public sealed record DelegationDto(string Id, IReadOnlyList<string> Actions, IReadOnlyList<string> Resources, string GrantedBy, string? Purpose, DateTimeOffset GrantedAt, DateTimeOffset ExpiresAt)
{
    public static DelegationDto From(Delegation d) => new(d.Id, d.Actions, d.Resources, d.GrantedBy, d.Purpose, d.GrantedAt, d.ExpiresAt);
}

public sealed record AgentDto(string Id, string Name, string Owner, string Fleet, IReadOnlyDictionary<string, string> Labels, string Status,
    string? StatusReason, string? StatusChangedBy, DateTimeOffset RegisteredAt, DateTimeOffset UpdatedAt, IReadOnlyList<DelegationDto> Delegations,
    string? StatusChangedByIssuer)
{
    public static AgentDto From(AgentInfo a) => new(a.Id, a.Name, a.Owner, a.Fleet, a.Labels, Words.Of(a.Status), a.StatusReason, a.StatusChangedBy,
        a.RegisteredAt, a.UpdatedAt, a.Delegations.Select(DelegationDto.From).ToArray(), a.StatusChangedByIssuer);
}

public sealed record SessionEventDto(long Seq, string Kind, DateTimeOffset At, Guid DecisionId, string Action, string Resource,
    string? Outcome, long? PolicyVersion, IReadOnlyList<string>? Reasons, string? Detail)
{
    public static SessionEventDto From(SessionEvent e) => new(e.Seq, Words.Of(e.Kind), e.At, e.DecisionId, e.Action, e.Resource,
        e.Outcome?.ToString(), e.PolicyVersion, e.Reasons, e.Detail);
}

public sealed record SessionDto(string Id, string AgentId, string Status, DateTimeOffset OpenedAt, DateTimeOffset ExpiresAt, long IdleTimeoutSeconds,
    DateTimeOffset LastActivityAt, DateTimeOffset? ClosedAt, string? CloseReason, long CumulativeRisk, long DecisionCount,
    long TotalEvents, long RequestEvents, long ResponseEvents, long ErrorEvents, IReadOnlyList<SessionEventDto> Events)
{
    public static SessionDto From(SessionInfo s) => new(s.Id, s.AgentId, Words.Of(s.Status), s.OpenedAt, s.ExpiresAt, (long)s.IdleTimeout.TotalSeconds,
        s.LastActivityAt, s.ClosedAt, s.CloseReason, s.CumulativeRisk, s.DecisionCount, s.TotalEvents, s.RequestEvents, s.ResponseEvents, s.ErrorEvents,
        s.Events.Select(SessionEventDto.From).ToArray());
}

public sealed record PolicyErrorDto(string PolicyId, string Message);

public sealed record DecisionDto(Guid DecisionId, string Outcome, IReadOnlyList<string> Reasons, IReadOnlyList<PolicyErrorDto> Errors, long PolicyVersion,
    string? DenyReason, string SessionId, string AgentId, DateTimeOffset DecidedAt, long RiskAdded, long CumulativeRisk, ApprovalTicketDto? Approval = null)
{
    public static DecisionDto From(AuthzDecision d, string baseUrl = "") => new(d.DecisionId, d.Outcome.ToString(), d.Reasons,
        d.Errors.Select(e => new PolicyErrorDto(e.PolicyId, e.Message)).ToArray(), d.PolicyVersion, d.DenyReason, d.SessionId, d.AgentId,
        d.DecidedAt, d.RiskAdded, d.CumulativeRisk, ApprovalTicketDto.From(d.Approval, baseUrl));
}

public sealed record PolicyVersionDto(long Version, string Policies, string? Schema, string Author, string? Note, DateTimeOffset PublishedAt, int PolicyCount,
    long? RolledBackFrom, string? AuthorIssuer, bool Shadow, long? PromotedFrom)
{
    public static PolicyVersionDto From(PolicyVersionRecord r) =>
        new(r.Version, r.Policies, r.Schema, r.Author, r.Note, r.PublishedAt, r.PolicyCount, r.RolledBackFrom, r.AuthorIssuer, r.Shadow, r.PromotedFrom);
}

public sealed record PolicyVersionSummaryDto(long Version, string Author, string? Note, DateTimeOffset PublishedAt, int PolicyCount, long? RolledBackFrom, bool HasSchema,
    bool Shadow, long? PromotedFrom)
{
    public static PolicyVersionSummaryDto From(PolicyVersionSummary s) => new(s.Version, s.Author, s.Note, s.PublishedAt, s.PolicyCount, s.RolledBackFrom, s.HasSchema, s.Shadow, s.PromotedFrom);
}

public sealed record OutcomeAcceptedDto(long Seq, string Kind, Guid DecisionId);

internal static class Words
{
    public static string Of(AgentStatus status) => status.ToString().ToLowerInvariant();
    public static string Of(SessionStatus status) => status.ToString().ToLowerInvariant();
    public static string Of(SessionEventKind kind) => kind.ToString().ToLowerInvariant();

    public static AgentStatus? AgentStatusFrom(string text) => text switch
    {
        "active" => AgentStatus.Active,
        "suspended" => AgentStatus.Suspended,
        "revoked" => AgentStatus.Revoked,
        _ => null,
    };
}
