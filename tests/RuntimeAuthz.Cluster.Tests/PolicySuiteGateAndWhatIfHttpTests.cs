using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Silo.Http;

namespace RuntimeAuthz.Cluster.Tests;

/// <summary>
/// Over real HTTP: publish refuses a version the configured test suite fails (naming the failing cases), and
/// <c>POST /v1/policies/what-if</c> re-decides recorded traffic; bad input is a 400, the wrong role a 403.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class PolicySuiteGateAndWhatIfHttpTests(ClusterEnvironment env)
{
    private static readonly string Suite = Path.Combine(RepoPaths.Examples, "policy-tests", "passing", "example-policies.cedartest.json");

    private Task<RunningHost> HostAsync() =>
        env.StartHostAsync("suite-" + Guid.NewGuid().ToString("N")[..12], seed: true, [$"--Policies:TestSuites={Suite}"]);

    private static string PublishBody(string policies) => new JsonObject
    {
        ["policies"] = policies,
        ["schema"] = File.ReadAllText(Path.Combine(RepoPaths.Examples, "schema.cedarschema")),
    }.ToJsonString();

    [Fact]
    public async Task Publish_is_refused_with_the_failing_cases_named_and_accepted_when_the_suite_passes()
    {
        var host = await HostAsync();
        var before = (await host.Http.GetJsonAsync("/v1/policies/current")).Json["version"]!.GetValue<long>();

        var everything = "@id(\"everything\")\npermit (principal, action, resource);";
        var refused = await host.Http.PostJsonAsync("/v1/policies", PublishBody(everything));

        var detail = refused.AssertProblem(HttpStatusCode.BadRequest);
        Assert.StartsWith("not published: the policy test suite fails", detail, StringComparison.Ordinal);
        var errors = refused.Json["errors"]!.AsArray().Select(e => e!.AsObject()).ToArray();
        var messages = errors.Select(e => e["message"]!.GetValue<string>()).ToArray();
        Assert.Contains(messages, m => m.StartsWith("databases are never deleted: expected Deny by [never-delete-databases], got Allow by [everything]", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("no document of another fleet: ", StringComparison.Ordinal));
        Assert.All(errors, e =>
        {
            Assert.Equal("example-policies.cedartest.json", e["source"]!.GetValue<string>());
            Assert.True(e["line"]!.GetValue<int>() > 1);
        });
        Assert.Equal(before, (await host.Http.GetJsonAsync("/v1/policies/current")).Json["version"]!.GetValue<long>());

        var examples = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Examples, "policies.cedar"));
        var accepted = await host.Http.PostJsonAsync("/v1/policies", PublishBody(examples));
        Assert.Equal(HttpStatusCode.Created, accepted.Status);
        Assert.Equal(before + 1, accepted.Json["version"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_shadow_version_may_fail_the_suite_but_is_not_promoted_while_it_does()
    {
        var host = await HostAsync();
        var before = (await host.Http.GetJsonAsync("/v1/policies/current")).Json["version"]!.GetValue<long>();
        var shadowBody = JsonNode.Parse(PublishBody("@id(\"everything\")\npermit (principal, action, resource);"))!.AsObject();
        shadowBody["mode"] = "shadow";

        var shadow = await host.Http.PostJsonAsync("/v1/policies", shadowBody.ToJsonString());
        Assert.Equal(HttpStatusCode.Created, shadow.Status);
        var shadowVersion = shadow.Json["version"]!.GetValue<long>();

        var promote = await host.Http.PostJsonAsync($"/v1/policies/{shadowVersion}/promote", "{}");
        Assert.StartsWith("not published: the policy test suite fails", promote.AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Contains(promote.Json["errors"]!.AsArray(), e => e!["message"]!.GetValue<string>().StartsWith("databases are never deleted: ", StringComparison.Ordinal));
        Assert.Equal(before, (await host.Http.GetJsonAsync("/v1/policies/current")).Json["version"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_configured_suite_location_without_suites_refuses_every_publish()
    {
        var empty = Directory.CreateTempSubdirectory("authz-no-suites");
        try
        {
            var refusal = await PolicyTestGate.RefusalAsync(new PolicyPublishRequest { Policies = "permit (principal, action, resource);" },
                new PolicyTestOptions { TestSuites = empty.FullName }, CancellationToken.None);
            var problem = Assert.IsType<ProblemHttpResult>(refusal);
            Assert.Equal((int)HttpStatusCode.Conflict, problem.StatusCode);
            Assert.Null(await PolicyTestGate.RefusalAsync(new PolicyPublishRequest { Policies = "permit (principal, action, resource);" },
                new PolicyTestOptions(), CancellationToken.None));
        }
        finally
        {
            empty.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task What_if_over_http_counts_the_changed_outcomes_and_refuses_bad_input()
    {
        var host = await HostAsync();
        var grains = host.App.Services.GetRequiredService<IGrainFactory>();
        var scenario = new Scenario(grains, () => DateTimeOffset.UtcNow);
        var agent = await scenario.NewAgentAsync();
        var session = await scenario.OpenSessionAsync(agent);
        for (var i = 0; i < 3; i++) Assert.Equal(DecisionOutcome.Allow, (await scenario.ReadOwnDocumentAsync(session)).Outcome);
        Assert.Equal(DecisionOutcome.Allow, (await scenario.DecideAsync(session, "search_web", "WebSearch", "q")).Outcome);

        var noReads = (await File.ReadAllTextAsync(Path.Combine(RepoPaths.Examples, "policies.cedar")))
            + "\n@id(\"no-reading\")\nforbid (principal, action == Action::\"read_file\", resource);";
        var reply = await host.Http.PostJsonAsync("/v1/policies/what-if", new JsonObject { ["policies"] = noReads, ["agent"] = agent }.ToJsonString());

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal(4, reply.Json["decisions"]!.GetValue<int>());
        Assert.Equal(3, reply.Json["changed"]!.GetValue<int>());
        var change = Assert.Single(reply.Json["changes"]!.AsArray());
        Assert.Equal("Allow", change!["from"]!.GetValue<string>());
        Assert.Equal("Deny", change["to"]!.GetValue<string>());
        var byPolicy = Assert.Single(reply.Json["byPolicy"]!.AsArray());
        Assert.Equal("no-reading", byPolicy!["key"]!.GetValue<string>());
        Assert.Equal(3, byPolicy["allowToDeny"]!.GetValue<int>());
        Assert.Equal(agent, reply.Json["byAgent"]![0]!["key"]!.GetValue<string>());
        Assert.Equal("Replayed", reply.Json["examples"]![0]!["status"]!.GetValue<string>());

        // Another agent's filter: nothing of this traffic.
        var none = await host.Http.PostJsonAsync("/v1/policies/what-if", new JsonObject { ["policies"] = noReads, ["agent"] = "nobody-here" }.ToJsonString());
        Assert.Equal(0, none.Json["decisions"]!.GetValue<int>());

        // Bad input.
        (await host.Http.PostJsonAsync("/v1/policies/what-if", "{}")).AssertProblem(HttpStatusCode.BadRequest);
        var unparsable = await host.Http.PostJsonAsync("/v1/policies/what-if", """{"policies": "permit (principal, action, resource)\nwhen { context.x == };"}""");
        unparsable.AssertProblem(HttpStatusCode.BadRequest);
        Assert.Equal(2, unparsable.Json["errors"]![0]!["line"]!.GetValue<int>());
        foreach (var bad in new[] { """{"policies": "", "since": "last week"}""", """{"policies": "", "maxDecisions": 0}""", """{"policies": "", "timeoutSeconds": 601}""", """{"policies": 7}""" })
            (await host.Http.PostJsonAsync("/v1/policies/what-if", bad)).AssertProblem(HttpStatusCode.BadRequest);
        // Governance may; an approver may not.
        var forbidden = await host.As("approver").PostJsonAsync("/v1/policies/what-if", """{"policies": ""}""");
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.Status);
        Assert.Equal(HttpStatusCode.OK, (await host.As("governance").PostJsonAsync("/v1/policies/what-if", """{"policies": "", "since": "1h"}""")).Status);
    }
}
