using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Grains.Decisions;
using RuntimeAuthz.Policy;
using RuntimeAuthz.Grains.Governance;

namespace RuntimeAuthz.Cluster.Tests.Decisions;

/// <summary>Each pipeline stage on its own, without a cluster.</summary>
public sealed class StageTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 8, 0, 0, TimeSpan.Zero);

    private static SessionInfo OpenSession(string agent = "a1") => new()
    {
        Id = "s1", AgentId = agent, Status = SessionStatus.Open, OpenedAt = Now.AddMinutes(-5), ExpiresAt = Now.AddHours(1),
        IdleTimeout = TimeSpan.FromMinutes(15), LastActivityAt = Now.AddMinutes(-1),
    };

    private static DecisionCall Call(string action = "read_file", string? agentId = null, string? context = null, string? input = null) =>
        new("s1", Guid.NewGuid(), Now, new DecisionRequest
        {
            AgentId = agentId, Action = action, ResourceType = "Document", ResourceId = "d1", ContextJson = context, InputJson = input,
        });

    private static Task<bool> NoAgentExists(string _) => Task.FromResult(false);

    [Fact]
    public async Task Gate_lets_an_open_session_of_the_callers_agent_through()
    {
        Assert.Null(await SessionGate.CheckAsync(OpenSession(), Call(), NoAgentExists));
        Assert.Null(await SessionGate.CheckAsync(OpenSession(), Call(agentId: "a1"), NoAgentExists));
    }

    [Fact]
    public async Task Gate_denies_closed_expired_idle_and_foreign_agent_calls_without_counting_them_as_activity()
    {
        var closed = await SessionGate.CheckAsync(OpenSession() with { Status = SessionStatus.Closed }, Call(), NoAgentExists);
        var expired = await SessionGate.CheckAsync(OpenSession() with { Status = SessionStatus.Expired }, Call(), NoAgentExists);
        var lifetimeOver = await SessionGate.CheckAsync(OpenSession() with { ExpiresAt = Now }, Call(), NoAgentExists);
        var idle = await SessionGate.CheckAsync(OpenSession() with { LastActivityAt = Now.AddMinutes(-15) }, Call(), NoAgentExists);
        var unknownClaim = await SessionGate.CheckAsync(OpenSession(), Call(agentId: "ghost"), NoAgentExists);
        var otherAgent = await SessionGate.CheckAsync(OpenSession(), Call(agentId: "a2"), id => Task.FromResult(id == "a2"));

        Assert.Equal(DenyReasons.SessionClosed, closed!.DenyReason);
        Assert.Equal(DenyReasons.SessionExpired, expired!.DenyReason);
        Assert.False(expired.ExpiresSession); // already expired: nothing to change
        Assert.True(lifetimeOver!.ExpiresSession);
        Assert.Contains("lifetime ended", lifetimeOver.Detail);
        Assert.True(idle!.ExpiresSession);
        Assert.Contains("idle for more than 900 seconds", idle.Detail);
        Assert.Equal(DenyReasons.UnknownAgent, unknownClaim!.DenyReason);
        Assert.Equal(DenyReasons.SessionAgentMismatch, otherAgent!.DenyReason);
        Assert.All([closed, expired, lifetimeOver, idle, unknownClaim, otherAgent], v => Assert.False(v.CountsAsActivity));
        Assert.All([closed, expired, lifetimeOver, idle, unknownClaim, otherAgent], v => Assert.Equal(DecisionOutcome.Deny, v.Outcome));
    }

    [Fact]
    public void Identity_check_denies_missing_suspended_and_revoked_agents_and_passes_active_ones()
    {
        var agent = new AgentInfo { Id = "a1", Fleet = "research", Status = AgentStatus.Active };
        Assert.Null(AuthorityStage.CheckIdentity(agent));
        Assert.Equal(DenyReasons.UnknownAgent, AuthorityStage.CheckIdentity(null)!.DenyReason);
        Assert.Equal(DenyReasons.AgentSuspended, AuthorityStage.CheckIdentity(agent with { Status = AgentStatus.Suspended })!.DenyReason);
        Assert.Equal(DenyReasons.AgentRevoked, AuthorityStage.CheckIdentity(agent with { Status = AgentStatus.Revoked })!.DenyReason);
    }

    private const string Policies = """
        @risk("3")
        permit (principal, action == Action::"read_file", resource) when { context.input.size < 10 };
        @risk("40")
        @approval("required")
        permit (principal, action == Action::"send_payment", resource);
        forbid (principal, action == Action::"read_file", resource) when { context has secret };
        """;

    private static CompiledPolicy Compile(string text = Policies) => CompiledPolicy.FromRecord(new PolicyVersionRecord { Version = 4, Policies = text });

    private static readonly AgentInfo Agent = new() { Id = "a1", Fleet = "research", Status = AgentStatus.Active };

    private static GrantAuthority.Resolution Covering(string? condition = null) =>
        new(null, null, [new GrantAuthority.Candidate(new Delegation { Id = "g1", Actions = ["*"], Resources = ["*"] }, condition is null ? [] : [condition])]);

    private static Verdict Evaluate(DecisionCall call, GrantAuthority.Resolution? authority = null, CompiledPolicy? policy = null)
    {
        var compiled = policy ?? Compile();
        return EvaluationStage.Evaluate(compiled, Agent, new CedarRequestBuilder.SessionFacts("s1", 0, 0, 0), call, authority ?? Covering(),
            (request, entities) => Authorizer.IsAuthorized(request, compiled.Policies, entities));
    }

    [Fact]
    public void Evaluation_allows_with_the_compiled_risk_and_asks_for_approval_where_annotated()
    {
        var read = Evaluate(Call(input: """{"size":2}"""));
        var pay = Evaluate(Call("send_payment"));

        Assert.Equal((DecisionOutcome.Allow, 3L, 4L), (read.Outcome, read.RiskAdded, read.PolicyVersion));
        Assert.Equal(["policy0"], read.Reasons);
        Assert.Equal("delegation g1", read.Detail);
        Assert.Equal((DecisionOutcome.ApprovalRequired, 40L), (pay.Outcome, pay.RiskAdded));
    }

    [Fact]
    public void Evaluation_denies_forbidden_unpermitted_malformed_and_uncovered_calls_without_risk()
    {
        var forbidden = Evaluate(Call(context: """{"secret":true}""", input: """{"size":2}"""));
        var notPermitted = Evaluate(Call(input: """{"size":50}"""));
        var malformed = Evaluate(Call(context: "[1, 2"));
        var conditionFails = Evaluate(Call(input: """{"size":2}"""), Covering("context.input.size > 5"));

        Assert.Equal(DenyReasons.NotPermitted, forbidden.DenyReason);
        Assert.Equal(["policy2"], forbidden.Reasons);
        Assert.Equal(DenyReasons.NotPermitted, notPermitted.DenyReason);
        Assert.Equal("no policy permits", notPermitted.Detail);
        Assert.Equal(DenyReasons.InvalidRequest, malformed.DenyReason);
        Assert.Equal(DenyReasons.NoDelegation, conditionFails.DenyReason);
        Assert.All([forbidden, notPermitted, malformed, conditionFails], v => Assert.Equal(0, v.RiskAdded));
    }

    [Theory]
    [InlineData("@risk(\"high\")\npermit (principal, action, resource);", 1, 1, "@risk must be a non-negative integer")]
    [InlineData("permit (principal, action, resource);\n\n@id(\"p\")\n  @risk(\"-1\")\npermit (principal, action, resource);", 4, 3, "@risk must be a non-negative integer")]
    [InlineData("@id(\"x\") @approval(\"maybe\")\npermit (principal, action, resource);", 1, 10, "@approval must be \"required\" or \"none\"")]
    public void A_malformed_annotation_is_rejected_with_its_position(string text, int line, int column, string message)
    {
        var issues = CompiledPolicy.Check(text, schema: null, out _);
        var issue = Assert.Single(issues);
        Assert.Equal((CompiledPolicy.PolicySourceName, line, column), (issue.Source, issue.Line, issue.Column));
        Assert.Contains(message, issue.Message);
    }

    [Fact]
    public void Well_formed_annotations_pass_the_check()
    {
        Assert.Empty(CompiledPolicy.Check(Policies, schema: null, out var count));
        Assert.Equal(3, count);
        Assert.Empty(CompiledPolicy.Check("@approval(\"none\")\n@risk(\"0\")\npermit (principal, action, resource);", schema: null, out _));
    }
}
