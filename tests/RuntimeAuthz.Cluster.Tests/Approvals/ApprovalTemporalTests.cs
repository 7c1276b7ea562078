using Microsoft.Extensions.Time.Testing;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Cluster.Tests.Approvals;

/// <summary>Temporal policies see a granted approval as an <c>Action::"Approve"::response</c> event (AgentCore's approval-gate pattern).</summary>
[Collection(ClusterCollection.Name)]
public sealed class ApprovalTemporalTests(ClusterEnvironment env)
{
    private const string Policies = """
        @approval("required")
        permit (principal is Agent, action == Action::"send_payment", resource is Account) when { context.input has amount };

        permit (principal is Agent, action == Action::"ship_order", resource is Account)
        when temporal {
            !Action::"ship_order"::response{ input.amount: context.input.amount }
            since within 1h Action::"Approve"::response{ input.amount: context.input.amount }
        };
        """;

    [Fact]
    public async Task An_approval_gate_policy_opens_with_a_real_approval_for_that_amount_only()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2030, 8, 1, 9, 0, 0, TimeSpan.Zero));
        var cluster = await env.StartClusterAsync(1, clock);
        var published = await cluster.Client.GetGrain<IPolicyGrain>(0).Publish(new PolicyPublishRequest { Policies = Policies, Author = "tests" });
        Assert.True(published.IsSuccess, published.Message);
        await ClusterEnvironment.WaitForPolicyAsync(cluster, published.Value!.Version);
        var scenario = new Scenario(cluster.Client, clock.GetUtcNow);
        var session = await scenario.OpenSessionAsync(await scenario.NewAgentAsync(actions: ["send_payment", "ship_order"], resources: ["Account::*"]));

        Task<AuthzDecision> ShipAsync(int amount) => scenario.DecideAsync(session, "ship_order", "Account", "acme", input: $$"""{"amount": {{amount}}}""");
        Assert.Equal(DecisionOutcome.Deny, (await ShipAsync(500)).Outcome);

        var held = await scenario.DecideAsync(session, "send_payment", "Account", "acme", input: """{"amount": 500}""");
        Assert.Equal(DecisionOutcome.ApprovalRequired, held.Outcome);
        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.True((await cluster.Client.GetGrain<ISessionApprovalsGrain>(session).Approve(held.Approval!.Id, new ApprovalAct { Subject = "approver@example.com" })).IsSuccess);
        clock.Advance(TimeSpan.FromSeconds(30));

        Assert.Equal(DecisionOutcome.Deny, (await ShipAsync(999)).Outcome);
        var shipped = await ShipAsync(500);
        Assert.Equal(DecisionOutcome.Allow, shipped.Outcome);
        Assert.True((await scenario.Grains.GetGrain<IAgentSessionGrain>(session).ReportOutcome(new OutcomeReport
        {
            DecisionId = shipped.DecisionId, OutputJson = """{"shipped": true}""", ReportedBy = "agent",
        })).IsSuccess);
        // Shipped once since the approval: the gate is closed again.
        Assert.Equal(DecisionOutcome.Deny, (await ShipAsync(500)).Outcome);
    }
}
