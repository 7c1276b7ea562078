using System.Text.Json;
using RuntimeAuthz.Client;
using Wire = RuntimeAuthz.Contracts;

namespace RuntimeAuthz.ClusterClient.Tests;

/// <summary>The HTTP SDK's session operations through the cluster client, against a 2-silo cluster's gateways.</summary>
[Collection(ClusterCollection.Name)]
public sealed class TypedOperationTests(ClusterFixture fixture)
{
    private static readonly ResourceRef OwnDocument = new("Document", "q3-report", Json("""{"fleet":"research"}"""));

    [Fact]
    public async Task Open_decide_report_and_read_a_session_in_the_SDK_model()
    {
        var client = await fixture.ConnectAsync(await fixture.SharedAsync());

        var opened = await client.Authz.OpenSessionAsync(new OpenSessionRequest(ClusterFixture.Agent, LifetimeSeconds: 600, IdleTimeoutSeconds: 120));
        var allowed = await client.Authz.DecideAsync(opened.Id, new DecisionRequest("read_file", OwnDocument, Input: Json("""{"path":"/q3.pdf"}""")));
        var denied = await client.Authz.DecideAsync(opened.Id, new DecisionRequest("delete_database", new ResourceRef("Database", "prod")));
        var reported = await client.Authz.ReportOutcomeAsync(opened.Id, new ReportOutcomeRequest(allowed.DecisionId, OutcomeKind.Response, Json("""{"pages":3}""")));
        var secondReport = await Assert.ThrowsAsync<AuthzApiException>(() =>
            client.Authz.ReportOutcomeAsync(opened.Id, new ReportOutcomeRequest(allowed.DecisionId, OutcomeKind.Response)));
        var session = await client.Authz.GetSessionAsync(opened.Id);

        Assert.Equal((ClusterFixture.Agent, SessionStatus.Open, 120), (opened.AgentId, opened.Status, opened.IdleTimeoutSeconds));
        Assert.Equal(opened.OpenedAt.AddSeconds(600), opened.ExpiresAt);
        Assert.Equal((DecisionOutcome.Allow, opened.Id, ClusterFixture.Agent), (allowed.Outcome, allowed.SessionId, allowed.AgentId));
        Assert.True(Guid.TryParse(allowed.DecisionId, out _));
        Assert.Equal(["policy0"], allowed.Reasons!); // the first policy of the example file, read-own-fleet-documents
        Assert.Equal((DecisionOutcome.Deny, DenyReasons.NotPermitted), (denied.Outcome, denied.DenyReason));
        Assert.Equal((SessionEventKind.Response, allowed.DecisionId), (reported.Kind, reported.DecisionId));
        Assert.Equal(409, secondReport.Status);
        Assert.True(secondReport.IsOutcomeAlreadyReported, secondReport.Type); // the HTTP API's problem type, carried through the cluster client too
        Assert.Equal(2, session.DecisionCount);
        Assert.Equal(allowed.CumulativeRisk, session.CumulativeRisk);
        Assert.Equal([SessionEventKind.Request, SessionEventKind.Request, SessionEventKind.Response], session.Events!.Select(e => e.Kind));
        Assert.Equal([allowed.DecisionId, denied.DecisionId, allowed.DecisionId], session.Events!.Select(e => e.DecisionId));
    }

    [Fact]
    public async Task An_approval_round_trip_allows_the_held_call_once()
    {
        var client = await fixture.ConnectAsync(await fixture.SharedAsync());
        var session = (await client.Authz.OpenSessionAsync(new OpenSessionRequest(ClusterFixture.Agent))).Id;
        var payment = new DecisionRequest("send_payment", new ResourceRef("Account", "acme"), Input: Json("""{"amount":500}"""));

        var held = await client.Authz.DecideAsync(session, payment);
        var approvalId = held.Approval!.Id;
        var waitedWhilePending = await client.Authz.WaitForApprovalAsync(approvalId, TimeSpan.Zero);
        var approved = await client.Grains.GetGrain<Wire.ISessionApprovalsGrain>(session).Approve(approvalId,
            new Wire.ApprovalAct { Subject = "approver@example.com", Reason = "invoice 42" });
        var waited = await client.Authz.WaitForApprovalAsync(approvalId, TimeSpan.FromSeconds(30));
        var allowed = await client.Authz.DecideAsync(session, payment with { ApprovalId = approvalId });
        var again = await client.Authz.DecideAsync(session, payment with { ApprovalId = approvalId });
        var used = await client.Authz.GetApprovalAsync(approvalId);

        Assert.Equal((DecisionOutcome.ApprovalRequired, "requested", 1), (held.Outcome, held.Approval.Act, held.Approval.RequiredApprovals));
        Assert.Matches("^sha256:[0-9a-f]{64}$", held.Approval.BindingDigest!);
        Assert.True(waitedWhilePending.IsPending);
        Assert.Equal((ClusterFixture.Agent, "send_payment", "Account::\"acme\""), (waitedWhilePending.Requester, waitedWhilePending.Action, waitedWhilePending.Resource));
        Assert.True(approved.IsSuccess, approved.Message);
        Assert.Equal("approved", waited.Status);
        Assert.Equal("approver@example.com", Assert.Single(waited.Approvals).Approver);
        Assert.Equal((DecisionOutcome.Allow, "consumed"), (allowed.Outcome, allowed.Approval!.Act));
        Assert.Equal((DecisionOutcome.Deny, ApprovalDenyReasons.Used), (again.Outcome, again.DenyReason));
        Assert.Equal(("consumed", Guid.Parse(allowed.DecisionId)), (used.Status, used.ConsumedByDecisionId));
    }

    [Fact]
    public async Task Refusals_come_back_as_the_HTTP_API_would_answer_them()
    {
        var client = await fixture.ConnectAsync(await fixture.SharedAsync());
        var neverOpened = "never-opened-" + Guid.NewGuid().ToString("N")[..8];

        var unknownAgent = await Assert.ThrowsAsync<AuthzApiException>(() => client.Authz.OpenSessionAsync(new OpenSessionRequest("nobody-" + Guid.NewGuid().ToString("N")[..8])));
        var missingSession = await Assert.ThrowsAsync<AuthzApiException>(() => client.Authz.GetSessionAsync(neverOpened));
        var decisionWithoutSession = await client.Authz.DecideAsync(neverOpened, new DecisionRequest("read_file", OwnDocument));
        var missingApproval = await Assert.ThrowsAsync<AuthzApiException>(() => client.Authz.GetApprovalAsync(neverOpened + "~0123456789abcdef"));
        var outcomeOfUnknownDecision = await Assert.ThrowsAsync<AuthzApiException>(() =>
            client.Authz.ReportOutcomeAsync(neverOpened, new ReportOutcomeRequest(Guid.NewGuid().ToString(), OutcomeKind.Error, Error: "boom")));

        Assert.Equal(404, unknownAgent.Status);
        Assert.Equal(404, missingSession.Status);
        Assert.Equal((DecisionOutcome.Deny, DenyReasons.UnknownSession), (decisionWithoutSession.Outcome, decisionWithoutSession.DenyReason));
        Assert.Equal(404, missingApproval.Status);
        Assert.Equal(404, outcomeOfUnknownDecision.Status);
    }

    [Fact]
    public async Task A_decision_whose_answer_is_lost_is_an_error_to_treat_as_deny_and_is_asked_once()
    {
        var client = await fixture.ConnectAsync(await fixture.SharedAsync(), o => o.ResponseTimeout = TimeSpan.FromSeconds(2));
        var session = (await client.Authz.OpenSessionAsync(new OpenSessionRequest(ClusterFixture.Agent))).Id;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ClusterFixture.HeldSessions[session] = release;

        // Held in the silo past the response timeout: the answer never reaches the caller.
        var lost = await Assert.ThrowsAsync<DecisionUnknownException>(() => client.Authz.DecideAsync(session, new DecisionRequest("read_file", OwnDocument)));
        release.SetResult();
        var grain = client.Grains.GetGrain<Wire.IAgentSessionGrain>(session);
        var recorded = await Eventually.UntilAsync("the held decision recorded", async () => (await grain.Get())!.DecisionCount, n => n >= 1);
        var next = await client.Authz.DecideAsync(session, new DecisionRequest("read_file", OwnDocument));

        Assert.Equal(session, lost.SessionId);
        Assert.Equal("timed out", lost.Reason);
        Assert.Equal(1, recorded);
        Assert.Equal(DecisionOutcome.Allow, next.Outcome);
        // One call for the lost decision, one for the next: nothing was asked again behind the caller's back.
        Assert.Equal(2, ClusterFixture.DecideCalls[session]);
        Assert.Equal(2, (await grain.Get())!.DecisionCount);
    }

    [Fact]
    public async Task An_open_whose_answer_was_lost_is_retried_and_recognised_as_the_same_session()
    {
        var client = await fixture.ConnectAsync(await fixture.SharedAsync(), o => { o.ResponseTimeout = TimeSpan.FromSeconds(5); o.RetryDelay = TimeSpan.Zero; });
        var agent = "slow-open-" + Guid.NewGuid().ToString("N")[..8];
        var registered = await client.Grains.GetGrain<Wire.IAgentGrain>(agent).Register(new Wire.AgentRegistration { Name = "slow", Owner = "o", Fleet = "research" });
        Assert.True(registered.IsSuccess, registered.Message);
        // The first open proceeds only after the client gave up waiting for it; the retry finds the session it opened.
        ClusterFixture.SlowOpens[agent] = TimeSpan.FromSeconds(7);

        var session = await client.Authz.OpenSessionAsync(new OpenSessionRequest(agent));

        Assert.Equal((agent, SessionStatus.Open), (session.AgentId, session.Status));
        Assert.Equal(2, ClusterFixture.OpenCalls[agent]);
        Assert.Equal(session.Id, (await client.Authz.GetSessionAsync(session.Id)).Id);
    }

    private static JsonElement Json(string text) => JsonSerializer.Deserialize<JsonElement>(text);
}
