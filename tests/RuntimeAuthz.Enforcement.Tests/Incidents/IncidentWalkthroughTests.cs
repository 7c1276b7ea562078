using RuntimeAuthz.Enforcement.Tests.Infrastructure;
using RuntimeAuthz.Incidents;
using Xunit.Abstractions;

namespace RuntimeAuthz.Enforcement.Tests.Incidents;

/// <summary>The three incident walk-throughs of examples/incidents, run as ./examples/incidents/run runs them, against the real silo.</summary>
[Collection(EnforcementCollection.Name)]
public sealed class IncidentWalkthroughTests(EnforcementEnvironment environment, ITestOutputHelper log)
{
    [Fact]
    public async Task Every_step_of_the_three_walkthroughs_is_decided_as_the_walkthrough_says()
    {
        var printed = new StringWriter();
        var clients = new IncidentClients(environment.ClientAs(EnforcementEnvironment.EnforcementPoint), environment.AdminClient, environment.ApproverClient);

        var results = await RuntimeAuthz.Incidents.Incidents.RunAllAsync(clients, printed);
        log.WriteLine(printed.ToString());

        Assert.Equal(
        [
            "prompt-injection 1 Allow", "prompt-injection 2 Allow", "prompt-injection 3 Deny", "prompt-injection 4 Allow",
            "delegated-abuse 1 Accepted", "delegated-abuse 2 Refused", "delegated-abuse 3 Allow", "delegated-abuse 4 Accepted", "delegated-abuse 5 Deny",
            "chained-execution 1 Allow", "chained-execution 2 Allow", "chained-execution 3 Deny", "chained-execution 4 ApprovalRequired",
            "chained-execution 5 Accepted", "chained-execution 6 Allow",
        ], results.Select(r => $"{r.Incident} {r.Number} {r.Actual}"));
        Assert.All(results, step => Assert.True(step.AsExpected, $"{step.Incident} step {step.Number}: {step.Detail}"));
        // What stopped each attack, as the cluster said it.
        Assert.Contains("no-delegation", results.Single(r => r.Incident == "delegated-abuse" && r.Number == 5).Detail);
        Assert.Contains("not-permitted", results.Single(r => r.Incident == "prompt-injection" && r.Number == 3).Detail);
        Assert.Contains("not-permitted", results.Single(r => r.Incident == "chained-execution" && r.Number == 3).Detail);
    }
}
