using System.Net;
using Microsoft.Extensions.Options;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Silo;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Cluster.Tests.Security;

[Collection(ClusterCollection.Name)]
public sealed class DevelopmentIssuerTests(ClusterEnvironment env)
{
    private string[] Args(string environment, params string[] extra) =>
        env.HostArgs("devissuer-" + Guid.NewGuid().ToString("N")[..8], environment, extra);

    /// <summary>The silo must refuse to start; returns the reason.</summary>
    private static async Task<string> RefusedStartAsync(string[] args)
    {
        var app = SiloHost.Build(args);
        try
        {
            var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
            return error.Message;
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_development_issuer_is_refused_outside_Development_naming_the_setting()
    {
        var reason = await RefusedStartAsync(Args("Production", $"--{CallerAuthenticationOptions.DevelopmentIssuerKey}=true", TestTokens.AuthorityArgument));

        Assert.Contains("Authentication:DevelopmentIssuer:Enabled", reason, StringComparison.Ordinal);
        Assert.Contains("Production", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_an_authority_or_development_issuer_the_silo_refuses_to_start()
    {
        var reason = await RefusedStartAsync(Args("Production"));

        Assert.Contains("Authentication:Authority is required", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--Authentication:Authority=not a url", "Authentication:Authority 'not a url' is not an absolute URL")]
    [InlineData("--Authentication:Authority=http://issuer.example", "Authentication:Authority must be an https URL")]
    [InlineData("--Authentication:Audience= ", "Authentication:Audience must not be empty")]
    [InlineData("--Authentication:Claims:Roles= ", "Authentication:Claims:Roles must name a claim")]
    [InlineData("--Authentication:ClockSkewSeconds=-1", "Authentication:ClockSkewSeconds must be between")]
    [InlineData("--Authentication:MetadataRefreshMinutes=0", "Authentication:MetadataRefreshMinutes must be between 1 and 1440")]
    [InlineData("--RateLimiting:PermitLimit=0", "RateLimiting:PermitLimit must be at least 1")]
    [InlineData("--RateLimiting:WindowSeconds=0", "RateLimiting:WindowSeconds must be between")]
    public async Task Bad_security_settings_are_refused_at_start_naming_the_key(string setting, string expected)
    {
        var args = setting.StartsWith("--Authentication:Authority", StringComparison.Ordinal)
            ? Args("Production", setting)
            : Args("Production", TestTokens.AuthorityArgument, setting);

        Assert.Contains(expected, await RefusedStartAsync(args), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_the_development_issuer_dev_token_is_404()
    {
        var host = await env.GetSharedHostAsync();

        var reply = await host.ClientWith(null).PostJsonAsync("/dev/token", """{"roles":["admin"]}""");
        var forged = await host.ClientWith(TestTokens.Mint("dev-admin", [Roles.Admin], issuer: DevelopmentIssuer.Issuer, otherKey: true)).GetJsonAsync("/v1/whoami");

        reply.AssertProblem(HttpStatusCode.NotFound);
        forged.AssertProblem(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_development_silo_mints_tokens_of_any_role_and_still_accepts_its_authority()
    {
        var host = await env.StartHostAsync(Args("Development", $"--{CallerAuthenticationOptions.DevelopmentIssuerKey}=true",
            "--Authentication:Peps:gateway-configured:Agents:0=bot-7"));
        var anonymous = host.ClientWith(null);

        var admin = await anonymous.PostJsonAsync("/dev/token", "{}");
        var agent = await anonymous.PostJsonAsync("/dev/token", """{"subject":"agent-bot-1","roles":["agent"],"agentId":"bot-1","lifetimeSeconds":600}""");
        var pep = await anonymous.PostJsonAsync("/dev/token", """{"roles":["pep"],"agents":["bot-1","*"]}""");
        var asAdmin = await host.ClientWith(admin.Json["access_token"]!.GetValue<string>()).GetJsonAsync("/v1/whoami");
        var asAgent = await host.ClientWith(agent.Json["access_token"]!.GetValue<string>()).GetJsonAsync("/v1/whoami");
        var asPep = await host.ClientWith(pep.Json["access_token"]!.GetValue<string>()).GetJsonAsync("/v1/whoami");
        var agentGovernance = await host.ClientWith(agent.Json["access_token"]!.GetValue<string>()).GetJsonAsync("/v1/agents");
        var fromAuthority = await host.Http.GetJsonAsync("/v1/whoami");
        var forged = await host.ClientWith(TestTokens.Mint("dev-admin", [Roles.Admin], issuer: DevelopmentIssuer.Issuer, otherKey: true)).GetJsonAsync("/v1/whoami");
        var garbage = await host.ClientWith("not.a.jwt").GetJsonAsync("/v1/whoami");
        var configuredPep = await host.ClientWith(TestTokens.ForPep("gateway-configured", "bot-8")).GetJsonAsync("/v1/whoami");

        Assert.Equal("Bearer", admin.Json["token_type"]!.GetValue<string>());
        Assert.Equal(3600, admin.Json["expires_in"]!.GetValue<long>());
        Assert.Equal("dev-admin", asAdmin.Json["subject"]!.GetValue<string>());
        Assert.Equal(DevelopmentIssuer.Issuer, asAdmin.Json["issuer"]!.GetValue<string>());
        Assert.Equal(["admin"], asAdmin.Json["roles"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.Equal(600, agent.Json["expires_in"]!.GetValue<long>());
        Assert.Equal("agent-bot-1", asAgent.Json["subject"]!.GetValue<string>());
        Assert.Equal("bot-1", asAgent.Json["agentId"]!.GetValue<string>());
        Assert.Equal("dev-pep", asPep.Json["subject"]!.GetValue<string>());
        Assert.Equal(["bot-1", "*"], asPep.Json["agents"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.Contains("agents:read", agentGovernance.AssertProblem(HttpStatusCode.Forbidden), StringComparison.Ordinal);
        Assert.Equal(TestTokens.AdminSubject, fromAuthority.Json["subject"]!.GetValue<string>());
        Assert.Contains("invalid_token", forged.Response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        garbage.AssertProblem(HttpStatusCode.Unauthorized);
        Assert.Equal(["bot-8", "bot-7"], configuredPep.Json["agents"]!.AsArray().Select(r => r!.GetValue<string>()));
    }

    [Theory]
    [InlineData("""{"roles":["root"]}""", "'root' is not a role")]
    [InlineData("""{"roles":[]}""", "at least one role")]
    [InlineData("""{"roles":"admin"}""", "roles must be an array")]
    [InlineData("""{"roles":["agent"]}""", "agentId is required")]
    [InlineData("""{"roles":["agent"],"agentId":"bad id!"}""", "not a valid id")]
    [InlineData("""{"roles":["pep"],"agents":["ok","bad id!"]}""", "not a valid id")]
    [InlineData("""{"lifetimeSeconds":0}""", "lifetimeSeconds must be between 1 and 86400")]
    [InlineData("""{"lifetimeSeconds":86401}""", "lifetimeSeconds must be between 1 and 86400")]
    [InlineData("""{"subject":""}""", "subject must not be empty")]
    [InlineData("""[1]""", "must be a JSON object")]
    public async Task Bad_dev_token_requests_are_400_problems(string body, string expected)
    {
        var host = await DevelopmentHostAsync();

        var reply = await host.ClientWith(null).PostJsonAsync("/dev/token", body);

        Assert.Contains(expected, reply.AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
    }

    private static readonly SemaphoreSlim DevelopmentHostGate = new(1, 1);
    private static RunningHost? developmentHost;

    /// <summary>One development silo for the bad-input cases (the fixture stops it at the end of the run).</summary>
    private async Task<RunningHost> DevelopmentHostAsync()
    {
        await DevelopmentHostGate.WaitAsync();
        try
        {
            return developmentHost ??= await env.StartHostAsync(Args("Development", $"--{CallerAuthenticationOptions.DevelopmentIssuerKey}=true"));
        }
        finally
        {
            DevelopmentHostGate.Release();
        }
    }
}
