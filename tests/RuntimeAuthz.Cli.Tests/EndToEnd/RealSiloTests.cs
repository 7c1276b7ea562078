using System.Text.Json;
using RuntimeAuthz.Cli.Infrastructure;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.Cli.Tests.EndToEnd;

/// <summary>The CLI and the SDK against the real silo host: the contract, not a model of it.</summary>
[Collection(RealSiloCollection.Name)]
public sealed class RealSiloTests(RealSilo silo)
{
    private Task<CliResult> Authz(params string[] args) => silo.Authz(args);

    private static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";

    [Fact]
    public async Task The_seeded_example_yields_every_outcome_with_its_exit_code()
    {
        var agents = await Authz("agents", "list");
        Assert.Equal(ExitCodes.Success, agents.ExitCode);
        Assert.Contains(agents.OutputLines, line => line.StartsWith("demo-agent ", StringComparison.Ordinal) && line.Contains("active", StringComparison.Ordinal));

        var allow = await Authz("check", "--agent", "demo-agent", "--action", "read_file", "--resource", "Document::\"q3-report\"", "--properties", """{"fleet":"research"}""");
        Assert.Equal(ExitCodes.Success, allow.ExitCode);
        Assert.StartsWith("ALLOW", allow.Output, StringComparison.Ordinal);

        var approval = await Authz("check", "--agent", "demo-agent", "--action", "send_payment", "--resource", "Account::\"acme\"", "--input", """{"amount":250}""");
        Assert.Equal(ExitCodes.ApprovalRequired, approval.ExitCode);

        var forbidden = await Authz("check", "--agent", "demo-agent", "--action", "delete_database", "--resource", "Database::\"prod\"");
        Assert.Equal(ExitCodes.Deny, forbidden.ExitCode);
        Assert.Contains("reason: not-permitted", forbidden.Output, StringComparison.Ordinal);

        var undelegated = await Authz("check", "--agent", "demo-agent", "--action", "send_email", "--resource", "Mailbox::\"ops\"");
        Assert.Equal(ExitCodes.Deny, undelegated.ExitCode);
        Assert.Contains("reason: no-delegation", undelegated.Output, StringComparison.Ordinal);

        var stranger = await Authz("check", "--agent", NewId("nobody"), "--action", "read_file", "--resource", "Document::\"q3-report\"");
        Assert.Equal(ExitCodes.Deny, stranger.ExitCode);
        Assert.Contains("unknown-agent", stranger.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Governance_flow_from_registration_to_revocation()
    {
        var agent = NewId("e2e-bot");
        Assert.Equal(ExitCodes.Success, (await Authz("agents", "register", agent, "--owner", "ops@example.com", "--fleet", "research", "--label", "env=test")).ExitCode);
        string[] readDocument = ["check", "--agent", agent, "--action", "read_file", "--resource", "Document::\"handbook\"", "--properties", """{"fleet":"research"}"""];

        // Identity alone grants nothing.
        var beforeGrant = await Authz(readDocument);
        Assert.Equal(ExitCodes.Deny, beforeGrant.ExitCode);
        Assert.Contains("no-delegation", beforeGrant.Output, StringComparison.Ordinal);

        var granted = await Authz("agents", "delegate", agent, "--action", "read_file", "--resource", "Document::*", "--expires", "1h", "--purpose", "e2e");
        Assert.Equal(ExitCodes.Success, granted.ExitCode);
        Assert.Equal(ExitCodes.Success, (await Authz(readDocument)).ExitCode);

        // A session: the decision and the reported outcome land in its timeline.
        var opened = await Authz("sessions", "open", "--agent", agent);
        var session = opened.OutputLines[0];
        var decided = await Authz("--json", "check", "--session", session, "--action", "read_file", "--resource", "Document::\"handbook\"", "--properties", """{"fleet":"research"}""");
        Assert.Equal(ExitCodes.Success, decided.ExitCode);
        var decisionId = JsonDocument.Parse(decided.Output).RootElement.GetProperty("decisionId").GetString()!;
        Assert.Equal(ExitCodes.Success, (await Authz("sessions", "outcome", session, "--decision", decisionId, "--output", """{"pages":12}""")).ExitCode);
        var shown = await Authz("sessions", "show", session);
        Assert.Contains(shown.OutputLines, line => line.StartsWith("Decisions", StringComparison.Ordinal) && line.EndsWith(" 1", StringComparison.Ordinal));
        Assert.Contains(shown.OutputLines, line => line.Contains("response", StringComparison.Ordinal) && line.Contains("read_file", StringComparison.Ordinal));
        Assert.Equal(ExitCodes.Success, (await Authz("sessions", "close", session, "--reason", "done")).ExitCode);
        var afterClose = await Authz("check", "--session", session, "--action", "read_file", "--resource", "Document::\"handbook\"", "--properties", """{"fleet":"research"}""");
        Assert.Equal(ExitCodes.Deny, afterClose.ExitCode);
        Assert.Contains("session-closed", afterClose.Output, StringComparison.Ordinal);

        // Withdrawing the delegation is in force on the next call.
        var details = JsonDocument.Parse((await Authz("--json", "agents", "show", agent)).Output).RootElement;
        var delegationId = details.GetProperty("delegations")[0].GetProperty("id").GetString()!;
        Assert.Equal(ExitCodes.Success, (await Authz("agents", "undelegate", agent, delegationId)).ExitCode);
        Assert.Equal(ExitCodes.Deny, (await Authz(readDocument)).ExitCode);

        // Suspended, then revoked: denied either way, revocation is final.
        await Authz("agents", "delegate", agent, "--action", "read_file", "--resource", "Document::*", "--expires", "1h");
        Assert.Equal(ExitCodes.Success, (await Authz("agents", "suspend", agent, "--reason", "e2e")).ExitCode);
        var suspended = await Authz(readDocument);
        Assert.Equal(ExitCodes.Deny, suspended.ExitCode);
        Assert.Contains("agent-suspended", suspended.Output, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Success, (await Authz("agents", "revoke", agent, "--reason", "e2e")).ExitCode);
        var revoked = await Authz(readDocument);
        Assert.Equal(ExitCodes.Deny, revoked.ExitCode);
        Assert.Contains("agent-revoked", revoked.Output, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Error, (await Authz("agents", "activate", agent)).ExitCode);
    }

    [Fact]
    public async Task Policy_publish_errors_point_into_the_file_and_leave_the_version_unchanged()
    {
        var before = await Authz("--json", "policies", "show", "current");
        var currentVersion = JsonDocument.Parse(before.Output).RootElement.GetProperty("version").GetInt64();
        var file = Path.Combine(Path.GetTempPath(), NewId("broken") + ".cedar");
        await File.WriteAllTextAsync(file, "permit(principal, action, resource);\nforbid(principal, action, resource) when { resource.x == };\n");
        try
        {
            var rejected = await Authz("policies", "publish", file, "--note", "broken");

            Assert.Equal(ExitCodes.Error, rejected.ExitCode);
            Assert.StartsWith($"{file}:2:", rejected.Error, StringComparison.Ordinal);
            var after = await Authz("--json", "policies", "show", "current");
            Assert.Equal(currentVersion, JsonDocument.Parse(after.Output).RootElement.GetProperty("version").GetInt64());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Rollback_publishes_the_old_text_as_a_new_version()
    {
        var examples = Path.Combine(RealSilo.RepoRoot, "examples");
        var published = await Authz("--json", "policies", "publish", Path.Combine(examples, "policies.cedar"), "--schema", Path.Combine(examples, "schema.cedarschema"), "--note", "e2e republish");
        Assert.Equal(ExitCodes.Success, published.ExitCode);
        var version = JsonDocument.Parse(published.Output).RootElement.GetProperty("version").GetInt64();

        var rolledBack = await Authz("--json", "policies", "rollback", "1", "--note", "e2e rollback");

        Assert.Equal(ExitCodes.Success, rolledBack.ExitCode);
        var record = JsonDocument.Parse(rolledBack.Output).RootElement;
        Assert.True(record.GetProperty("version").GetInt64() > version);
        Assert.Equal(1, record.GetProperty("rolledBackFrom").GetInt64());
        var list = await Authz("policies", "list");
        Assert.Contains("(current)", list.OutputLines[1], StringComparison.Ordinal);
        Assert.Contains("(rollback to v1) e2e rollback", list.OutputLines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Evaluate_asks_through_AuthZEN_with_the_same_exit_codes()
    {
        var session = (await Authz("sessions", "open", "--agent", "demo-agent")).OutputLines[0];

        var allowed = await Authz("evaluate", "--agent", "demo-agent", "--session", session, "--action", "search_web", "--resource", "WebSearch::\"web\"", "--input", """{"query":"cedar"}""");
        var held = await Authz("--json", "evaluate", "--agent", "demo-agent", "--session", session, "--action", "send_payment", "--resource", "Account::\"acme\"", "--input", """{"amount":100}""");
        var denied = await Authz("evaluate", "--agent", "demo-agent", "--session", session, "--action", "delete_database", "--resource", "Database::\"prod\"");

        Assert.Equal(ExitCodes.Success, allowed.ExitCode);
        Assert.StartsWith("ALLOW  decision: true", allowed.Output, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.ApprovalRequired, held.ExitCode);
        var heldJson = JsonDocument.Parse(held.Output).RootElement;
        Assert.False(heldJson.GetProperty("decision").GetBoolean());
        Assert.Equal("ApprovalRequired", heldJson.GetProperty("context").GetProperty("outcome").GetString());
        Assert.Equal(ExitCodes.Deny, denied.ExitCode);
        var timeline = await Authz("sessions", "show", session);
        Assert.Contains(timeline.OutputLines, line => line.StartsWith("Decisions", StringComparison.Ordinal) && line.EndsWith(" 3", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sdk_speaks_AuthZEN_and_maps_problems_to_exceptions()
    {
        using var client = silo.Client();

        var configuration = await client.GetAuthZenConfigurationAsync();
        Assert.EndsWith("/access/v1/evaluation", configuration.AccessEvaluationEndpoint, StringComparison.Ordinal);

        var session = await client.OpenSessionAsync(new OpenSessionRequest("demo-agent", 120, 60));
        var evaluation = await client.EvaluateAsync(new AuthZenEvaluationRequest(
            AuthZenSubject.Agent("demo-agent"),
            new AuthZenAction("search_web"),
            new AuthZenResource("WebSearch", "web"),
            AuthZenContext.Create(session.Id, JsonSerializer.SerializeToElement(new { query = "cedar" }))), requestId: "e2e-1");
        Assert.True(evaluation.Decision);
        Assert.Equal(DecisionOutcome.Allow, evaluation.Context!.Outcome);

        var batch = await client.EvaluateManyAsync(new AuthZenEvaluationsRequest(
            [
                new AuthZenEvaluationItem(Action: new AuthZenAction("delete_database"), Resource: new AuthZenResource("Database", "prod")),
                new AuthZenEvaluationItem(Action: new AuthZenAction("search_web"), Resource: new AuthZenResource("WebSearch", "web")),
            ],
            Subject: AuthZenSubject.Agent("demo-agent"),
            Context: AuthZenContext.Create(session.Id),
            Options: new AuthZenEvaluationsOptions(AuthZenEvaluationSemantics.DenyOnFirstDeny)));
        var first = Assert.Single(batch.Evaluations);
        Assert.False(first.Decision);

        var missing = await Assert.ThrowsAsync<AuthzApiException>(() => client.GetSessionAsync("no-such-session"));
        Assert.True(missing.IsNotFound);
        var duplicate = await Assert.ThrowsAsync<AuthzApiException>(() => client.RegisterAgentAsync(new RegisterAgentRequest("demo-agent", "again", "x", "y")));
        Assert.True(duplicate.IsConflict);
        var invalid = await Assert.ThrowsAsync<AuthzApiException>(() => client.PublishPolicyAsync(new PublishPolicyRequest("permit(principal, action, resource", null, "e2e")));
        Assert.Equal(400, invalid.Status);
        Assert.Contains(invalid.Errors, item => item.Line == 1 && item.Column > 1);

        var ready = await client.GetReadinessAsync();
        Assert.True(ready.Healthy);
    }
}
