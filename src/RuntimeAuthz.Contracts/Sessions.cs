using System.Text.Json.Serialization;
using Orleans.Concurrency;

namespace RuntimeAuthz.Contracts;

[JsonConverter(typeof(JsonStringEnumConverter<SessionStatus>))]
public enum SessionStatus { Open, Closed, Expired }

[JsonConverter(typeof(JsonStringEnumConverter<SessionEventKind>))]
public enum SessionEventKind { Request, Response, Error, Revocation }

[JsonConverter(typeof(JsonStringEnumConverter<DecisionOutcome>))]
public enum DecisionOutcome { Allow, Deny, ApprovalRequired }

[GenerateSerializer, Immutable, Alias("authz.SessionOpenRequest")]
public sealed record SessionOpenRequest
{
    [Id(0)] public string AgentId { get; init; } = "";
    [Id(1)] public TimeSpan Lifetime { get; init; } = TimeSpan.FromHours(1);
    [Id(2)] public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(15);
    /// <summary>Who opened it (the caller's subject), recorded in the session's first evidence record.</summary>
    [Id(3)] public string? OpenedBy { get; init; }
}

/// <summary>
/// One authorization question inside a session. JSON payloads travel as JSON text so the wire
/// format stays independent of any JSON DOM type.
/// </summary>
[GenerateSerializer, Immutable, Alias("authz.DecisionRequest")]
public sealed record DecisionRequest
{
    /// <summary>The agent the caller claims to act as; null = the session's agent.</summary>
    [Id(0)] public string? AgentId { get; init; }
    [Id(1)] public string Action { get; init; } = "";
    [Id(2)] public string ResourceType { get; init; } = "";
    [Id(3)] public string ResourceId { get; init; } = "";
    /// <summary>JSON object: the resource's attributes.</summary>
    [Id(4)] public string? ResourcePropertiesJson { get; init; }
    /// <summary>JSON object: extra context keys from the caller.</summary>
    [Id(5)] public string? ContextJson { get; init; }
    /// <summary>Any JSON value: the tool input, exposed as <c>context.input</c>.</summary>
    [Id(6)] public string? InputJson { get; init; }
    /// <summary>Who asked (the authenticated caller's subject: the agent, an enforcement point or an admin); recorded as the evidence's actor.</summary>
    [Id(7)] public string? Caller { get; init; }
    /// <summary>The approval this call uses (it must be the approved call of this session, unused and unexpired).</summary>
    [Id(8)] public string? ApprovalId { get; init; }
    /// <summary>
    /// The decision's id, chosen by the caller's edge so that a lost answer can be reconciled
    /// (<see cref="IAgentSessionGrain.SupersedeLostAnswer"/>); null = the session grain picks one.
    /// </summary>
    [Id(9)] public Guid? DecisionId { get; init; }
    /// <summary>The user an agent acts for (a delegated token's subject), as a Cedar entity literal; recorded in the evidence.</summary>
    [Id(10)] public string? OnBehalfOf { get; init; }
}

[GenerateSerializer, Immutable, Alias("authz.PolicyErrorInfo")]
public sealed record PolicyErrorInfo
{
    [Id(0)] public string PolicyId { get; init; } = "";
    [Id(1)] public string Message { get; init; } = "";
}

/// <summary>The answer to a <see cref="DecisionRequest"/>; every decision is also recorded in the session.</summary>
[GenerateSerializer, Immutable, Alias("authz.AuthzDecision")]
public sealed record AuthzDecision
{
    [Id(0)] public Guid DecisionId { get; init; }
    [Id(1)] public DecisionOutcome Outcome { get; init; } = DecisionOutcome.Deny;
    [Id(2)] public IReadOnlyList<string> Reasons { get; init; } = [];
    [Id(3)] public IReadOnlyList<PolicyErrorInfo> Errors { get; init; } = [];
    /// <summary>The policy version that decided; 0 when none was available.</summary>
    [Id(4)] public long PolicyVersion { get; init; }
    [Id(5)] public string? DenyReason { get; init; }
    [Id(6)] public string SessionId { get; init; } = "";
    [Id(7)] public string AgentId { get; init; } = "";
    [Id(8)] public DateTimeOffset DecidedAt { get; init; }
    /// <summary>Risk this decision added to the session (max <c>@risk</c> of the determining policies).</summary>
    [Id(9)] public long RiskAdded { get; init; }
    [Id(10)] public long CumulativeRisk { get; init; }
    /// <summary>The approval request this decision created (ApprovalRequired), used (Allow) or could not use (Deny).</summary>
    [Id(11)] public ApprovalTicket? Approval { get; init; }
    /// <summary>The entity store version the decision read (0: the store was empty or not loaded yet).</summary>
    [Id(12)] public long EntityStoreVersion { get; init; }
}

/// <summary>Who reported an outcome: the agent itself, or an enforcement point (a gateway that saw the tool's answer).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ReporterKind>))]
public enum ReporterKind { Agent, EnforcementPoint }

[GenerateSerializer, Immutable, Alias("authz.OutcomeReport")]
public sealed record OutcomeReport
{
    [Id(0)] public Guid DecisionId { get; init; }
    /// <summary><see cref="SessionEventKind.Response"/> or <see cref="SessionEventKind.Error"/>.</summary>
    [Id(1)] public SessionEventKind Kind { get; init; } = SessionEventKind.Response;
    /// <summary>JSON value: the tool's output (stored truncated).</summary>
    [Id(2)] public string? OutputJson { get; init; }
    [Id(3)] public string? Error { get; init; }
    /// <summary>The reporter's identity (from its credentials, filled by the HTTP layer); recorded as the record's actor.</summary>
    [Id(4)] public string ReportedBy { get; init; } = "";
    /// <summary>Policies see it as <c>reporter</c> on the response/error event (<c>"agent"</c> or <c>"enforcement-point"</c>).</summary>
    [Id(5)] public ReporterKind ReporterKind { get; init; } = ReporterKind.Agent;
}

/// <summary>Outcome reporters' kinds as policies and evidence records name them.</summary>
public static class ReporterKinds
{
    public const string Agent = "agent";
    public const string EnforcementPoint = "enforcement-point";

    public static string Of(ReporterKind kind) => kind == ReporterKind.EnforcementPoint ? EnforcementPoint : Agent;
}

/// <summary>One page of a session's timeline, read from its evidence chain.</summary>
[GenerateSerializer, Immutable, Alias("authz.SessionTimelinePage")]
public sealed record SessionTimelinePage
{
    [Id(0)] public IReadOnlyList<SessionEvent> Events { get; init; } = [];
    /// <summary>Pass as <c>after</c> for the next page; null when this page reaches the end.</summary>
    [Id(1)] public long? NextAfter { get; init; }
}

/// <summary>One entry of a session's timeline: a record of its evidence chain (Seq is the record's sequence).</summary>
[GenerateSerializer, Immutable, Alias("authz.SessionEvent")]
public sealed record SessionEvent
{
    [Id(0)] public long Seq { get; init; }
    [Id(1)] public SessionEventKind Kind { get; init; }
    [Id(2)] public DateTimeOffset At { get; init; }
    [Id(3)] public Guid DecisionId { get; init; }
    [Id(4)] public string Action { get; init; } = "";
    /// <summary>The resource in Cedar literal form, e.g. <c>Document::"a"</c>.</summary>
    [Id(5)] public string Resource { get; init; } = "";
    [Id(6)] public DecisionOutcome? Outcome { get; init; }
    [Id(7)] public long? PolicyVersion { get; init; }
    [Id(8)] public IReadOnlyList<string>? Reasons { get; init; }
    /// <summary>Deny reason, error text or (truncated) output.</summary>
    [Id(9)] public string? Detail { get; init; }
}

/// <summary>A session as stored and returned, with its bounded event timeline.</summary>
[GenerateSerializer, Immutable, Alias("authz.SessionInfo")]
public sealed record SessionInfo
{
    [Id(0)] public string Id { get; init; } = "";
    [Id(1)] public string AgentId { get; init; } = "";
    [Id(2)] public SessionStatus Status { get; init; }
    [Id(3)] public DateTimeOffset OpenedAt { get; init; }
    [Id(4)] public DateTimeOffset ExpiresAt { get; init; }
    [Id(5)] public TimeSpan IdleTimeout { get; init; }
    [Id(6)] public DateTimeOffset LastActivityAt { get; init; }
    [Id(7)] public DateTimeOffset? ClosedAt { get; init; }
    [Id(8)] public string? CloseReason { get; init; }
    [Id(9)] public long CumulativeRisk { get; init; }
    [Id(10)] public long DecisionCount { get; init; }
    /// <summary>Timeline events ever recorded (decisions, outcomes, notes).</summary>
    [Id(11)] public long TotalEvents { get; init; }
    [Id(12)] public long RequestEvents { get; init; }
    [Id(13)] public long ResponseEvents { get; init; }
    [Id(14)] public long ErrorEvents { get; init; }
    /// <summary>The most recent events, oldest first (at most SessionLimits.TimelinePage; older ones through GetTimeline).</summary>
    [Id(15)] public IReadOnlyList<SessionEvent> Events { get; init; } = [];
    /// <summary>Decisions whose outcome was Deny (as the chain says, superseding records included).</summary>
    [Id(16)] public long DenyCount { get; init; }
    /// <summary>The policy version of the most recent decision (0: none yet).</summary>
    [Id(17)] public long LastPolicyVersion { get; init; }
}

/// <summary>An agent's session: the chain of its actions, its cumulative risk and lifetime; key = session id.</summary>
[Alias("authz.IAgentSessionGrain")]
public interface IAgentSessionGrain : IGrainWithStringKey
{
    /// <summary>Opens the session; NotFound for an unknown agent, Conflict if already opened or the agent is revoked.</summary>
    [Alias("Open")] Task<CommandResult<SessionInfo>> Open(SessionOpenRequest request);

    /// <summary>Decides one request. Never throws: any failure is a Deny with reason internal-error.</summary>
    [Alias("Decide")] Task<AuthzDecision> Decide(DecisionRequest request);

    /// <summary>
    /// Seals a response/error of an allowed decision into the session's chain, at most once and within
    /// SessionLimits.OutcomeWindow: NotFound for a decision not of this session (or too old), Conflict
    /// for a denied decision or a second report. Refused reports leave an evidence record.
    /// </summary>
    [Alias("ReportOutcome")] Task<CommandResult<SessionEvent>> ReportOutcome(OutcomeReport report);

    /// <summary>
    /// The caller of decision <paramref name="decisionId"/> was told Deny because the grain's answer never
    /// reached it (the call failed or timed out, e.g. a silo died after the record was durable). If the
    /// chain holds an Allow for it, a Deny record superseding it is sealed; if the decision has not been
    /// made yet, it will be denied when it arrives. Throws when that could not be made durable (retry).
    /// </summary>
    [Alias("SupersedeLostAnswer")] Task SupersedeLostAnswer(Guid decisionId);

    /// <summary>Timeline events after record <paramref name="after"/> (0 = from the start), at most <paramref name="limit"/>; null when never opened.</summary>
    [Alias("GetTimeline")] Task<SessionTimelinePage?> GetTimeline(long after, int limit);

    [Alias("Close")] Task<CommandResult<SessionInfo>> Close(string? reason);

    /// <summary>The session (status brought up to date), or null when it was never opened.</summary>
    [Alias("Get")] Task<SessionInfo?> Get();

    /// <summary>The agent the session belongs to, or null when it was never opened (a cheap read for caller checks).</summary>
    [Alias("AgentOf"), ReadOnly] Task<string?> AgentOf();
}
