using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Silo;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Cluster.Tests.Security;

/// <summary>Cross-site posts, forged Host headers, floods and failures that must not leak internals.</summary>
[Collection(ClusterCollection.Name)]
public sealed class HardeningTests(ClusterEnvironment env)
{
    private string[] Args(string environment, params string[] extra) =>
        env.HostArgs("hardening-" + Guid.NewGuid().ToString("N")[..8], environment, extra);

    private static async Task<HttpReply> PostRawAsync(HttpClient http, string path, string body, string contentType)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, contentType) };
        var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return new HttpReply(response.StatusCode, text.Length > 0 ? System.Text.Json.Nodes.JsonNode.Parse(text) : null, response);
    }

    [Fact]
    public async Task A_cross_site_form_post_is_never_processed()
    {
        var host = await env.GetSharedHostAsync();
        var id = "csrf-" + Guid.NewGuid().ToString("N")[..8];
        var json = $$"""{"id":"{{id}}","name":"n","owner":"o","fleet":"f"}""";

        // What a browser form can send: no bearer token, a text/plain or form body.
        var crossSite = await PostRawAsync(host.ClientWith(null), "/v1/agents", json, "text/plain");
        var textPlain = await PostRawAsync(host.Http, "/v1/agents", json, "text/plain");
        var form = await PostRawAsync(host.Http, "/v1/policies", "policies=permit+(principal,+action,+resource);", "application/x-www-form-urlencoded");
        var fetched = await host.Http.GetJsonAsync($"/v1/agents/{id}");

        crossSite.AssertProblem(HttpStatusCode.Unauthorized);
        Assert.Contains("application/json", textPlain.AssertProblem(HttpStatusCode.UnsupportedMediaType), StringComparison.Ordinal);
        Assert.Contains("application/x-www-form-urlencoded", form.AssertProblem(HttpStatusCode.UnsupportedMediaType), StringComparison.Ordinal);
        fetched.AssertProblem(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_forged_Host_header_is_not_echoed_into_discovery()
    {
        var host = await env.GetSharedHostAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/.well-known/authzen-configuration");
        request.Headers.Host = "attacker.example";

        var reply = await host.ClientWith(null).SendAsync(request);
        var text = await reply.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, reply.StatusCode);
        Assert.DoesNotContain("attacker.example", text, StringComparison.Ordinal);
        Assert.Contains(host.BaseAddress.ToString().TrimEnd('/') + "/access/v1/evaluation", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Discovery_advertises_the_configured_base_address_and_a_bad_one_is_refused()
    {
        var host = await env.StartHostAsync(Args("Production", $"--{PublicAddress.Key}=https://pdp.example.com/"));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/.well-known/authzen-configuration");
        request.Headers.Host = "attacker.example";

        var reply = await host.ClientWith(null).SendAsync(request);
        var json = System.Text.Json.Nodes.JsonNode.Parse(await reply.Content.ReadAsStringAsync())!;
        var error = Assert.Throws<InvalidOperationException>(() => SiloHost.Build(Args("Production", TestTokens.AuthorityArgument, $"--{PublicAddress.Key}=pdp.example.com")));

        Assert.Equal("https://pdp.example.com", json["policy_decision_point"]!.GetValue<string>());
        Assert.Equal("https://pdp.example.com/access/v1/evaluations", json["access_evaluations_endpoint"]!.GetValue<string>());
        Assert.Contains(PublicAddress.Key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_caller_has_its_own_rate_limit_and_is_told_when_to_retry()
    {
        var host = await env.StartHostAsync(Args("Production", "--RateLimiting:PermitLimit=2", "--RateLimiting:WindowSeconds=3600"));
        var first = host.As(Roles.Auditor);

        var allowed = new[] { await first.GetJsonAsync("/v1/whoami"), await first.GetJsonAsync("/v1/whoami") };
        var limited = await first.GetJsonAsync("/v1/whoami");
        var otherCaller = await host.As(Roles.Responder).GetJsonAsync("/v1/whoami");
        var health = await first.GetJsonAsync("/health/live");

        Assert.All(allowed, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.Contains("too many requests", limited.AssertProblem(HttpStatusCode.TooManyRequests), StringComparison.Ordinal);
        var retryAfter = int.Parse(limited.Response.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 3600);
        Assert.Equal(HttpStatusCode.OK, otherCaller.Status);
        Assert.Equal(HttpStatusCode.OK, health.Status);
    }

    [Fact]
    public async Task An_unexpected_failure_is_a_500_problem_without_stack_trace_or_paths_also_in_Development()
    {
        var host = await env.StartHostAsync(Args("Development"),
            builder => builder.Services.AddSingleton<IIncomingGrainCallFilter, ExplodingAgentFilter>());

        var reply = await host.Http.GetJsonAsync($"/v1/agents/{ExplodingAgentFilter.AgentId}");
        var text = reply.Body!.ToJsonString();

        reply.AssertProblem(HttpStatusCode.InternalServerError);
        Assert.DoesNotContain(ExplodingAgentFilter.Secret, text, StringComparison.Ordinal);
        Assert.DoesNotContain(".cs", text, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", text, StringComparison.Ordinal);
    }

    /// <summary>Makes one agent's grain calls fail with a message full of internals.</summary>
    private sealed class ExplodingAgentFilter : IIncomingGrainCallFilter
    {
        public const string AgentId = "exploding-agent";
        public const string Secret = "/srv/secret/Source/AgentGrain.cs";

        public Task Invoke(IIncomingGrainCallContext context)
        {
            if (context.Grain is IAgentGrain && context.TargetId.Key.ToString() == AgentId)
                throw new InvalidOperationException($"boom in {Secret}:line 42");
            return context.Invoke();
        }
    }
}
