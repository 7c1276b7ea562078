using System.Text.Json.Nodes;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Incidents;
using RuntimeAuthz.McpGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RuntimeAuthz.McpGateway.Tests.Incidents;

/// <summary>
/// The three incident walk-throughs of examples/incidents, run as <c>./authz demo incidents</c> runs them: scripted agents
/// as MCP clients of a gateway in front of the incidents' tool server and the npm filesystem server, on the shared 2-silo cluster.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class IncidentWalkthroughTests(GatewayEnvironment env, ITestOutputHelper log)
{
    [Fact]
    public async Task Every_step_of_the_three_walkthroughs_is_decided_as_the_walkthrough_says_and_refused_calls_never_reach_the_tools()
    {
        await using var stage = await IncidentStage.StartAsync(new IncidentStageOptions(env.Silos[0].BaseAddress,
            new JsonObject { ["TokenFile"] = env.PepTokenFile }, RepoPaths.Examples, Path.Combine(RepoPaths.Root, "node_modules")));
        var clients = new IncidentClients((agent, _) => ValueTask.FromResult(TestTokens.ForAgent(agent)), env.Admin, env.Approver);
        var run = Guid.NewGuid().ToString("N")[..8];
        var printed = new StringWriter();

        var results = await RuntimeAuthz.Incidents.Incidents.RunAllAsync(stage, clients, PolicyNames.Of(env.PublishedPolicy), printed, run);
        log.WriteLine(printed.ToString());

        Assert.Equal(
        [
            "prompt-injection 1 Allow", "prompt-injection 2 Allow", "prompt-injection 3 Deny", "prompt-injection 4 Allow",
            "delegated-abuse 1 Allow", "delegated-abuse 2 Accepted", "delegated-abuse 3 Refused", "delegated-abuse 4 Allow", "delegated-abuse 5 Deny",
            "delegated-abuse 6 Accepted", "delegated-abuse 7 Deny",
            "chained-execution 1 Allow", "chained-execution 2 Allow", "chained-execution 3 Allow", "chained-execution 4 Deny",
            "chained-execution 5 ApprovalRequired", "chained-execution 6 Accepted", "chained-execution 7 Allow",
        ], results.Select(r => $"{r.Incident} {r.Number} {r.Actual}"));
        Assert.All(results, step => Assert.True(step.AsExpected, $"{step.Incident} step {step.Number}: {step.Detail}"));

        // What stopped each attack, as the cluster said it.
        StepResult Step(string incident, int number) => results.Single(r => r.Incident == incident && r.Number == number);
        Assert.Contains("exfil@attacker.example", Step("prompt-injection", 3).Description);
        Assert.Equal("not-permitted", Step("prompt-injection", 3).DenyReason);
        Assert.Contains("exceed", Step("delegated-abuse", 3).Detail);
        Assert.Equal("no-delegation", Step("delegated-abuse", 5).DenyReason);
        Assert.Equal("no-delegation", Step("delegated-abuse", 7).DenyReason);
        Assert.Equal(["incident-chain-no-mail-after-secrets"], Step("chained-execution", 4).Policies);

        // What reached the tool servers: only the allowed calls, the approved wire exactly once.
        Assert.Equal(["dana@example.com", "ops@example.com"], stage.Outbox.Select(m => m.To).Order(StringComparer.Ordinal));
        var wire = Assert.Single(stage.Ledger);
        Assert.Equal(("acme", 25000L), (wire.Account, wire.Amount));
        Assert.DoesNotContain("(deleted)", await File.ReadAllTextAsync(stage.PlanFile));

        // The lookup's output the mail rule matched was reported by the gateway, not claimed by the agent.
        var researcherSession = Assert.Single(await env.SessionsOfAsync($"researcher-{run}"));
        var outcomes = (await env.EvidenceOfAsync(researcherSession)).Where(r => r["kind"]?.GetValue<string>() == "outcome").ToList();
        Assert.Equal(3, outcomes.Count);
        Assert.All(outcomes, o => Assert.Equal("enforcement-point", o["reporterKind"]?.GetValue<string>()));
    }
}
