using Microsoft.Extensions.Time.Testing;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;

namespace RuntimeAuthz.Cluster.Tests.Decisions;

/// <summary>
/// An edge that lost the grain's answer told its caller Deny: the chain must end up saying Deny for
/// that decision, whichever of the decision and the edge's notice reaches the session first.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class LostAnswerTests(ClusterEnvironment env)
{
    [Fact]
    public async Task An_Allow_whose_answer_was_lost_is_superseded_by_Deny_and_its_outcome_refused()
    {
        var (grain, s, session) = await StartAsync();
        var decisionId = Guid.NewGuid();
        var allowed = await grain.Decide(ReadRequest(decisionId));
        Assert.Equal((DecisionOutcome.Allow, decisionId), (allowed.Outcome, allowed.DecisionId));
        var riskBefore = (await grain.Get())!.CumulativeRisk;

        await grain.SupersedeLostAnswer(decisionId);
        await grain.SupersedeLostAnswer(decisionId); // a retried notice changes nothing more

        var chain = await VerifiedChainAsync(session);
        var records = chain.Where(b => b.DecisionId == decisionId.ToString()).ToList();
        Assert.Equal(2, records.Count);
        Assert.Equal(nameof(DecisionOutcome.Allow), records[0].Outcome);
        Assert.Equal((nameof(DecisionOutcome.Deny), DenyReasons.InternalError, records[0].Sequence), (records[1].Outcome, records[1].DenyReason, records[1].Supersedes));
        var report = await grain.ReportOutcome(new OutcomeReport
        {
            DecisionId = decisionId, Kind = SessionEventKind.Response, OutputJson = "{}", ReportedBy = "the-agent", ReporterKind = ReporterKind.Agent,
        });
        Assert.Equal(CommandError.Conflict, report.Error);
        var after = (await grain.Get())!;
        Assert.Equal(1, after.DecisionCount);
        Assert.True(after.CumulativeRisk <= riskBefore);
        Assert.Equal(DecisionOutcome.Allow, (await s.ReadOwnDocumentAsync(session)).Outcome); // the session goes on
    }

    [Fact]
    public async Task A_decision_arriving_after_the_notice_is_denied_and_recorded_as_Deny()
    {
        var (grain, _, session) = await StartAsync();
        var decisionId = Guid.NewGuid();

        await grain.SupersedeLostAnswer(decisionId);
        var late = await grain.Decide(ReadRequest(decisionId));

        Assert.Equal((DecisionOutcome.Deny, DenyReasons.InternalError), (late.Outcome, late.DenyReason));
        var record = Assert.Single(await VerifiedChainAsync(session), b => b.DecisionId == decisionId.ToString());
        Assert.Equal(nameof(DecisionOutcome.Deny), record.Outcome);
        Assert.Null(record.Supersedes);
    }

    private static DecisionRequest ReadRequest(Guid decisionId) => new()
    {
        Action = "read_file", ResourceType = "Document", ResourceId = "doc-1", ResourcePropertiesJson = """{"fleet":"research"}""", DecisionId = decisionId,
    };

    private async Task<(IAgentSessionGrain Grain, Scenario Scenario, string Session)> StartAsync()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2032, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var cluster = await env.StartClusterAsync(1, clock);
        var published = await cluster.Client.GetGrain<IPolicyGrain>(0).Publish(new PolicyPublishRequest
        {
            Policies = """permit (principal, action == Action::"read_file", resource) when { resource.fleet == "research" };""", Author = "lost-answer-tests",
        });
        Assert.True(published.IsSuccess, published.Message);
        await ClusterEnvironment.WaitForPolicyAsync(cluster, published.Value!.Version);
        var scenario = new Scenario(cluster.Client, clock.GetUtcNow);
        var agent = await scenario.NewAgentAsync();
        var session = await scenario.OpenSessionAsync(agent);
        return (cluster.Client.GetGrain<IAgentSessionGrain>(session), scenario, session);
    }

    private Task<List<EvidenceBody>> VerifiedChainAsync(string session) =>
        VerifiedChains.ReadAsync(env.Azurite.ConnectionString, EvidenceChains.ForSession(session));
}
