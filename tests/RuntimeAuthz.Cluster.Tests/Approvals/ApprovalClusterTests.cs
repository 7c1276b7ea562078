using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;

namespace RuntimeAuthz.Cluster.Tests.Approvals;

/// <summary>
/// Approvals on a 3-silo cluster with Azurite and a fake authorization clock: bound to the exact call,
/// used once, decided by someone other than the agent, its owner or the requester, expiring, and every step in the evidence.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ApprovalClusterTests(ClusterEnvironment env)
{
    private const string Approver = "alice@approvers.example";
    private const string SecondApprover = "bob@approvers.example";
    private const string Payment = """{"amount": 500, "currency": "EUR"}""";

    /// <summary>The example policy plus a transfer that needs two approvers, and ledger tools decided by the action catalog.</summary>
    private const string QuorumPolicy = """

        @id("transfers-need-two-approvers")
        @approval("2")
        permit (principal is Agent, action == Action::"transfer_funds", resource is Account);

        @id("irreversible-financial-needs-approval")
        @approval("required")
        permit (principal is Agent, action, resource is Ledger)
        when { context.action.reversibility == "irreversible" && context.action.category == "financial" };

        @id("reversible-ledger-tools")
        permit (principal is Agent, action, resource is Ledger) when { context.action.reversibility == "reversible" };
        """;

    public const string Catalog = """
        {"trustedServers": ["ledger-mcp"],
         "actions": {"wire_money": {"reversibility": "irreversible", "category": "financial"},
                     "lookup_invoice": {"reversibility": "reversible", "category": "read"},
                     "list_entries": {"source": "mcp:ledger-mcp", "annotations": {"readOnlyHint": true}},
                     "purge_entries": {"source": "mcp:ledger-mcp", "annotations": {"destructiveHint": true}}}}
        """;

    private static readonly SemaphoreSlim StartGate = new(1, 1);
    private static (InProcessTestCluster Cluster, FakeTimeProvider Clock)? shared;

    private async Task<(InProcessTestCluster Cluster, FakeTimeProvider Clock, Scenario Scenario)> ClusterAsync()
    {
        await StartGate.WaitAsync();
        try
        {
            if (shared is null)
            {
                var clock = new FakeTimeProvider(new DateTimeOffset(2030, 6, 1, 9, 0, 0, TimeSpan.Zero));
                var cluster = await env.StartClusterAsync(3, clock);
                var published = await cluster.Client.GetGrain<IPolicyGrain>(0).Publish(new PolicyPublishRequest
                {
                    Policies = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Examples, "policies.cedar")) + QuorumPolicy, Author = "tests", Catalog = Catalog,
                });
                Assert.True(published.IsSuccess, published.Message);
                await ClusterEnvironment.WaitForPolicyAsync(cluster, published.Value!.Version);
                shared = (cluster, clock);
            }
            return (shared.Value.Cluster, shared.Value.Clock, new Scenario(shared.Value.Cluster.Client, shared.Value.Clock.GetUtcNow));
        }
        finally
        {
            StartGate.Release();
        }
    }

    private static async Task<(string Agent, string Session)> AgentWithSessionAsync(Scenario scenario)
    {
        var agent = await scenario.NewAgentAsync(actions: [.. Scenario.ExampleActions, "transfer_funds", .. CatalogActions], resources: [.. Scenario.ExampleResources, "Ledger::*"]);
        return (agent, await scenario.OpenSessionAsync(agent));
    }

    private static Task<AuthzDecision> PayAsync(Scenario scenario, string session, string? approvalId = null, string input = Payment, string action = "send_payment") =>
        scenario.Grains.GetGrain<IAgentSessionGrain>(session).Decide(new DecisionRequest
        {
            Action = action, ResourceType = "Account", ResourceId = "acme", InputJson = input, ApprovalId = approvalId,
        });

    public static readonly string[] CatalogActions = ["wire_money", "lookup_invoice", "list_entries", "purge_entries", "mystery_tool"];

    /// <summary>The shared approvals cluster, for other test classes of this folder.</summary>
    internal Task<(InProcessTestCluster Cluster, FakeTimeProvider Clock, Scenario Scenario)> SharedAsync() => ClusterAsync();

    internal static Task<(string Agent, string Session)> NewSessionAsync(Scenario scenario) => AgentWithSessionAsync(scenario);

    private static ApprovalAct By(string subject, string? reason = null) => new() { Subject = subject, Issuer = "tests", Reason = reason };

    private static ISessionApprovalsGrain ApprovalsOf(Scenario scenario, string session) => scenario.Grains.GetGrain<ISessionApprovalsGrain>(session);

    private AzureTableEvidenceStore Store() => new(env.Azurite.ConnectionString);

    private async Task<List<EvidenceBody>> VerifiedChainAsync(string session)
    {
        var store = Store();
        var chain = EvidenceChains.ForSession(session);
        var entries = await store.ReadChainAsync(chain);
        using var keys = new EvidencePublicKeys();
        foreach (var (id, pem) in await store.ListPublicKeysAsync()) keys.Add(id, pem);
        var verified = EvidenceVerifier.Verify(chain, entries, keys);
        Assert.True(verified.Valid, verified.ToString());
        var governance = EvidenceVerifier.Verify(EvidenceChains.Governance, await store.ReadChainAsync(EvidenceChains.Governance), keys);
        Assert.True(governance.Valid, governance.ToString());
        return [.. entries.Select(e => EvidenceSealer.ParseBody(e.Body))];
    }

    private async Task<List<EvidenceBody>> GovernanceRecordsOfAsync(string approvalId) =>
        [.. (await Store().ReadChainAsync(EvidenceChains.Governance)).Select(e => EvidenceSealer.ParseBody(e.Body))
            .Where(b => b.ApprovalIds?.Contains(approvalId) == true)];

    [Fact]
    public async Task An_approved_call_is_allowed_exactly_once_and_only_with_the_same_arguments()
    {
        var (_, clock, scenario) = await ClusterAsync();
        var (agent, session) = await AgentWithSessionAsync(scenario);
        var read = await scenario.ReadOwnDocumentAsync(session);
        Assert.True(read.Outcome == DecisionOutcome.Allow, $"{read.Outcome} {read.DenyReason} {string.Join(",", read.Reasons)}");

        var held = await PayAsync(scenario, session);
        Assert.Equal(DecisionOutcome.ApprovalRequired, held.Outcome);
        var ticket = held.Approval!;
        Assert.Equal(ApprovalActs.Requested, ticket.Act);
        Assert.Equal(session, ApprovalIds.SessionOf(ticket.Id));
        Assert.Equal(clock.GetUtcNow() + TimeSpan.FromMinutes(5), ticket.ExpiresAt);
        Assert.Equal(1, ticket.RequiredApprovals);
        Assert.Matches("^sha256:[0-9a-f]{64}$", ticket.BindingDigest!);

        // Not yet decided: pending.
        var early = await PayAsync(scenario, session, ticket.Id);
        Assert.Equal(ApprovalDenyReasons.Pending, early.DenyReason);

        var request = (await ApprovalsOf(scenario, session).GetApproval(ticket.Id))!;
        Assert.Equal(ApprovalStatus.Pending, request.Status);
        Assert.Equal(agent, request.AgentId);
        Assert.Equal(agent, request.Requester);
        Assert.Equal(held.Reasons, request.DeterminingPolicies);
        Assert.NotEmpty(request.DeterminingPolicies);
        Assert.Contains("\"amount\":500", request.CallJson);
        Assert.Contains(request.Timeline, line => line.Contains("read_file", StringComparison.Ordinal) && line.EndsWith("Allow", StringComparison.Ordinal));
        Assert.Equal(1, request.SessionRisk);

        var approved = await ApprovalsOf(scenario, session).Approve(ticket.Id, By(Approver, "ok for the Q3 invoice"));
        Assert.True(approved.IsSuccess, approved.Message);
        Assert.Equal(ApprovalStatus.Approved, approved.Value!.Status);

        // The same input with its keys in another order and other spacing is the same call; a changed amount is not.
        var changed = await PayAsync(scenario, session, ticket.Id, """{"amount": 5000, "currency": "EUR"}""");
        Assert.Equal((DecisionOutcome.Deny, ApprovalDenyReasons.Mismatch), (changed.Outcome, changed.DenyReason));
        var otherAction = await PayAsync(scenario, session, ticket.Id, Payment, action: "transfer_funds");
        Assert.Equal(DecisionOutcome.Deny, otherAction.Outcome);

        var allowed = await PayAsync(scenario, session, ticket.Id, """{ "currency":"EUR",  "amount":500 }""");
        Assert.Equal(DecisionOutcome.Allow, allowed.Outcome);
        Assert.Equal((ticket.Id, ApprovalActs.Consumed), (allowed.Approval!.Id, allowed.Approval.Act));

        var again = await PayAsync(scenario, session, ticket.Id);
        Assert.Equal((DecisionOutcome.Deny, ApprovalDenyReasons.Used), (again.Outcome, again.DenyReason));
        var used = (await ApprovalsOf(scenario, session).GetApproval(ticket.Id))!;
        Assert.Equal(ApprovalStatus.Consumed, used.Status);
        Assert.Equal(allowed.DecisionId, used.ConsumedByDecisionId);

        // Every step is in the session's chain (verified), the approver's act also in the governance chain.
        var records = await VerifiedChainAsync(session);
        var steps = records.Where(r => r.Approval?.Id == ticket.Id).Select(r => (r.Kind, r.Approval!.Act)).ToArray();
        Assert.Equal(
        [
            (EvidenceKinds.Decision, ApprovalActs.Requested), (EvidenceKinds.Decision, ApprovalActs.Presented), (EvidenceKinds.Approval, ApprovalActs.Approved),
            (EvidenceKinds.Decision, ApprovalActs.Presented), (EvidenceKinds.Decision, ApprovalActs.Presented),
            (EvidenceKinds.Decision, ApprovalActs.Consumed), (EvidenceKinds.Decision, ApprovalActs.Presented),
        ], steps);
        var consumedRecord = records.Single(r => r.Approval?.Act == ApprovalActs.Consumed);
        Assert.Equal(allowed.DecisionId.ToString(), consumedRecord.DecisionId);
        Assert.Equal([ticket.Id], consumedRecord.ApprovalIds);
        Assert.Equal(Approver, records.Single(r => r.Approval?.Act == ApprovalActs.Approved).Actor);
        var governance = await GovernanceRecordsOfAsync(ticket.Id);
        Assert.Contains(governance, g => g.Action == "approval-approved" && g.Actor == Approver);
    }

    [Fact]
    public async Task An_approval_used_after_its_expiry_is_denied_and_the_request_is_closed_as_expired()
    {
        var (_, clock, scenario) = await ClusterAsync();
        var (_, session) = await AgentWithSessionAsync(scenario);
        var held = await PayAsync(scenario, session);
        Assert.True((await ApprovalsOf(scenario, session).Approve(held.Approval!.Id, By(Approver))).IsSuccess);
        var unapproved = (await PayAsync(scenario, session, input: """{"amount": 7}""")).Approval!;

        clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        var late = await PayAsync(scenario, session, held.Approval.Id);
        Assert.Equal((DecisionOutcome.Deny, ApprovalDenyReasons.Expired), (late.Outcome, late.DenyReason));
        Assert.Equal(ApprovalStatus.Expired, (await ApprovalsOf(scenario, session).GetApproval(held.Approval.Id))!.Status);
        Assert.Equal(ApprovalStatus.Expired, (await ApprovalsOf(scenario, session).GetApproval(unapproved.Id))!.Status);
        var tooLate = await ApprovalsOf(scenario, session).Approve(unapproved.Id, By(Approver));
        Assert.Equal(CommandError.Conflict, tooLate.Error);

        var records = await VerifiedChainAsync(session);
        Assert.Equal(2, records.Count(r => r.Kind == EvidenceKinds.Approval && r.Approval!.Act == ApprovalActs.Expired));
    }

    [Fact]
    public async Task A_rejected_request_is_denied_with_the_approvers_reason_and_a_cancelled_one_too()
    {
        var (_, _, scenario) = await ClusterAsync();
        var (agent, session) = await AgentWithSessionAsync(scenario);
        var rejectedTicket = (await PayAsync(scenario, session)).Approval!;
        var noReason = await ApprovalsOf(scenario, session).Reject(rejectedTicket.Id, By(Approver, "  "));
        Assert.Equal(CommandError.Invalid, noReason.Error);
        var rejected = await ApprovalsOf(scenario, session).Reject(rejectedTicket.Id, By(Approver, "vendor not on the allow list"));
        Assert.Equal(ApprovalStatus.Rejected, rejected.Value!.Status);

        var denied = await PayAsync(scenario, session, rejectedTicket.Id);
        Assert.Equal((DecisionOutcome.Deny, ApprovalDenyReasons.Rejected), (denied.Outcome, denied.DenyReason));
        Assert.Contains("vendor not on the allow list", denied.Approval!.Reason);
        Assert.Equal(CommandError.Conflict, (await ApprovalsOf(scenario, session).Approve(rejectedTicket.Id, By(SecondApprover))).Error);

        var cancelledTicket = (await PayAsync(scenario, session, input: """{"amount": 9}""")).Approval!;
        var cancelled = await ApprovalsOf(scenario, session).Cancel(cancelledTicket.Id, By($"agent-{agent}", "not needed any more"));
        Assert.Equal(ApprovalStatus.Cancelled, cancelled.Value!.Status);
        var afterCancel = await PayAsync(scenario, session, cancelledTicket.Id, """{"amount": 9}""");
        Assert.Equal(ApprovalDenyReasons.Rejected, afterCancel.DenyReason);
        Assert.Contains("cancelled", afterCancel.Approval!.Reason);

        var records = await VerifiedChainAsync(session);
        Assert.Contains(records, r => r.Approval?.Act == ApprovalActs.Rejected && r.Approval.Reason == "vendor not on the allow list" && r.Actor == Approver);
        Assert.Contains(records, r => r.Approval?.Act == ApprovalActs.Cancelled && r.Actor == $"agent-{agent}");
        Assert.Contains(await GovernanceRecordsOfAsync(rejectedTicket.Id), g => g.Action == "approval-rejected");
    }

    [Fact]
    public async Task A_quorum_needs_two_distinct_approvers()
    {
        var (_, _, scenario) = await ClusterAsync();
        var (_, session) = await AgentWithSessionAsync(scenario);
        var held = await PayAsync(scenario, session, action: "transfer_funds");
        Assert.Equal(DecisionOutcome.ApprovalRequired, held.Outcome);
        Assert.Equal(2, held.Approval!.RequiredApprovals);

        var first = await ApprovalsOf(scenario, session).Approve(held.Approval.Id, By(Approver));
        Assert.Equal((ApprovalStatus.Pending, 1), (first.Value!.Status, first.Value.Approvals.Count));
        Assert.Equal(ApprovalDenyReasons.Pending, (await PayAsync(scenario, session, held.Approval.Id, action: "transfer_funds")).DenyReason);
        var twice = await ApprovalsOf(scenario, session).Approve(held.Approval.Id, By(Approver));
        Assert.Equal(CommandError.Conflict, twice.Error);
        Assert.Contains("distinct", twice.Message);

        var second = await ApprovalsOf(scenario, session).Approve(held.Approval.Id, By(SecondApprover));
        Assert.Equal(ApprovalStatus.Approved, second.Value!.Status);
        Assert.Equal(DecisionOutcome.Allow, (await PayAsync(scenario, session, held.Approval.Id, action: "transfer_funds")).Outcome);
    }

    [Fact]
    public async Task The_agent_its_owner_an_agent_token_and_the_requester_are_refused_with_evidence()
    {
        var (_, _, scenario) = await ClusterAsync();
        var (agent, session) = await AgentWithSessionAsync(scenario);
        var ticket = (await scenario.Grains.GetGrain<IAgentSessionGrain>(session).Decide(new DecisionRequest
        {
            Action = "send_payment", ResourceType = "Account", ResourceId = "acme", InputJson = Payment, Caller = "gateway-7",
        })).Approval!;
        var approvals = ApprovalsOf(scenario, session);

        var refused = new[]
        {
            await approvals.Approve(ticket.Id, By(agent)),
            await approvals.Approve(ticket.Id, By("owner@example.com")),
            await approvals.Approve(ticket.Id, By("gateway-7")),
            await approvals.Approve(ticket.Id, By(Approver) with { CallerAgentId = agent }),
            await approvals.Reject(ticket.Id, By("owner@example.com", "mine")),
        };
        Assert.All(refused, r => Assert.Equal(CommandError.Forbidden, r.Error));
        Assert.Contains("owns agent", refused[1].Message);
        Assert.Contains("requested the call", refused[2].Message);
        Assert.Contains("agent token", refused[3].Message);
        Assert.Equal(ApprovalStatus.Pending, (await approvals.GetApproval(ticket.Id))!.Status);

        var records = await VerifiedChainAsync(session);
        Assert.Equal(5, records.Count(r => r.Approval?.Act == ApprovalActs.Refused));
        var governance = await GovernanceRecordsOfAsync(ticket.Id);
        Assert.Equal(5, governance.Count(g => g.Action == "approval-refused"));
        Assert.Contains(governance, g => g.Action == "approval-refused" && g.Actor == "owner@example.com");
    }

    [Fact]
    public async Task Two_hundred_concurrent_resubmissions_from_every_silo_yield_exactly_one_allow()
    {
        var (cluster, _, scenario) = await ClusterAsync();
        var (_, session) = await AgentWithSessionAsync(scenario);
        var ticket = (await PayAsync(scenario, session)).Approval!;
        Assert.True((await ApprovalsOf(scenario, session).Approve(ticket.Id, By(Approver))).IsSuccess);

        var factories = cluster.Silos.Select(s => s.ServiceProvider.GetRequiredService<IGrainFactory>()).Append(cluster.Client).ToArray();
        var calls = Enumerable.Range(0, 200).Select(i => Task.Run(() => factories[i % factories.Length].GetGrain<IAgentSessionGrain>(session).Decide(new DecisionRequest
        {
            Action = "send_payment", ResourceType = "Account", ResourceId = "acme", InputJson = Payment, ApprovalId = ticket.Id,
        })));
        var answers = await Task.WhenAll(calls);

        Assert.Single(answers, a => a.Outcome == DecisionOutcome.Allow);
        Assert.Equal(199, answers.Count(a => a.DenyReason == ApprovalDenyReasons.Used));
        var records = await VerifiedChainAsync(session);
        Assert.Single(records, r => r.Approval?.Act == ApprovalActs.Consumed);
    }

    [Fact]
    public async Task A_suspension_after_the_approval_still_wins_and_the_approval_survives_a_silo_loss()
    {
        var (cluster, _, scenario) = await ClusterAsync();
        var (agent, session) = await AgentWithSessionAsync(scenario);
        var ticket = (await PayAsync(scenario, session)).Approval!;
        Assert.True((await ApprovalsOf(scenario, session).Approve(ticket.Id, By(Approver))).IsSuccess);

        var agentGrain = scenario.Grains.GetGrain<IAgentGrain>(agent);
        Assert.True((await agentGrain.SetStatus(new AgentStatusChange { Status = AgentStatus.Suspended, Reason = "incident", Actor = "responder" })).IsSuccess);
        var suspended = await PayAsync(scenario, session, ticket.Id);
        Assert.Equal(DenyReasons.AgentSuspended, suspended.DenyReason);
        Assert.Equal(ApprovalActs.Presented, suspended.Approval!.Act);
        Assert.True((await agentGrain.SetStatus(new AgentStatusChange { Status = AgentStatus.Active, Reason = "resolved", Actor = "governance" })).IsSuccess);

        // The silo holding the session goes away: the approval is rebuilt from the chain, still approved and unused.
        await cluster.StartAdditionalSiloAsync();
        var host = await cluster.Client.GetGrain<IManagementGrain>(0).GetActivationAddress(scenario.Grains.GetGrain<IAgentSessionGrain>(session));
        Assert.NotNull(host);
        await cluster.KillSiloAsync(cluster.Silos.Single(s => s.SiloAddress.Equals(host)));
        var rebuilt = await SiloFailover.RetryAsync(() => ApprovalsOf(scenario, session).GetApproval(ticket.Id));
        Assert.Equal(ApprovalStatus.Approved, rebuilt!.Status);

        Assert.Equal(DecisionOutcome.Allow, (await PayAsync(scenario, session, ticket.Id)).Outcome);
        Assert.Equal(ApprovalDenyReasons.Used, (await PayAsync(scenario, session, ticket.Id)).DenyReason);
        await VerifiedChainAsync(session);
    }

    [Fact]
    public async Task An_approval_of_another_session_or_an_unknown_one_is_a_mismatch()
    {
        var (_, _, scenario) = await ClusterAsync();
        var (_, session) = await AgentWithSessionAsync(scenario);
        var (_, other) = await AgentWithSessionAsync(scenario);
        var ticket = (await PayAsync(scenario, session)).Approval!;
        Assert.True((await ApprovalsOf(scenario, session).Approve(ticket.Id, By(Approver))).IsSuccess);

        Assert.Equal(ApprovalDenyReasons.Mismatch, (await PayAsync(scenario, other, ticket.Id)).DenyReason);
        Assert.Equal(ApprovalDenyReasons.Mismatch, (await PayAsync(scenario, session, ApprovalIds.New(session))).DenyReason);
        Assert.Null(await ApprovalsOf(scenario, session).GetApproval(ApprovalIds.New(session)));
        Assert.Equal(CommandError.NotFound, (await ApprovalsOf(scenario, other).Approve(ticket.Id, By(Approver))).Error);
        // Still usable in its own session.
        Assert.Equal(DecisionOutcome.Allow, (await PayAsync(scenario, session, ticket.Id)).Outcome);
    }
}
