using System.Text.Json;
using RuntimeAuthz.Cli.Infrastructure;

namespace RuntimeAuthz.Cli.Tests.EndToEnd;

/// <summary>Who the CLI is against the real silo: development identities, what each may do, and actors taken from the token.</summary>
[Collection(RealSiloCollection.Name)]
public sealed class IdentityEndToEndTests(RealSilo silo)
{
    private Task<CliResult> Authz(params string[] args) => silo.Authz(args);

    private static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";

    private static readonly string[] ReadDocument = ["--action", "read_file", "--resource", "Document::\"q3-report\"", "--properties", """{"fleet":"research"}"""];

    [Fact]
    public async Task Whoami_shows_the_development_identity_the_CLI_picked()
    {
        var admin = await Authz("whoami");
        var agent = await Authz("--json", "--as", "agent:demo-agent", "whoami");

        Assert.Equal(ExitCodes.Success, admin.ExitCode);
        Assert.Contains("Subject     dev-admin", admin.OutputLines);
        Assert.Contains("Issuer      runtimeauthz-development", admin.OutputLines);
        Assert.Contains("Roles       admin", admin.OutputLines);
        Assert.Contains(admin.OutputLines, line => line.StartsWith("Expires     ", StringComparison.Ordinal) && line.Contains("Z (in ", StringComparison.Ordinal));
        Assert.Contains("Token from  development issuer (--as admin)", admin.OutputLines);
        Assert.DoesNotContain("eyJ", admin.Output, StringComparison.Ordinal);

        Assert.Equal(ExitCodes.Success, agent.ExitCode);
        var json = JsonDocument.Parse(agent.Output).RootElement;
        Assert.Equal("agent-demo-agent", json.GetProperty("subject").GetString());
        Assert.Equal("demo-agent", json.GetProperty("agentId").GetString());
        Assert.Equal(["agent"], json.GetProperty("roles").EnumerateArray().Select(role => role.GetString()));
        // The development issuer's default lifetime is an hour.
        var lifetime = json.GetProperty("expiresAt").GetDateTimeOffset() - DateTimeOffset.UtcNow;
        Assert.InRange(lifetime, TimeSpan.FromMinutes(50), TimeSpan.FromHours(1));
    }

    [Fact]
    public async Task An_agent_checks_as_itself_but_not_as_another_agent_and_never_governs()
    {
        var asItself = await Authz(["--as", "agent:demo-agent", "check", "--agent", "demo-agent", .. ReadDocument]);
        var asAnother = await Authz(["--as", "agent:demo-agent", "check", "--agent", "intern-of-someone-else", .. ReadDocument]);
        var suspending = await Authz("--as", "agent:demo-agent", "agents", "suspend", "demo-agent", "--reason", "e2e");
        var publishing = await Authz("--as", "agent:demo-agent", "policies", "publish", Path.Combine(RealSilo.RepoRoot, "examples", "policies.cedar"));

        Assert.Equal(ExitCodes.Success, asItself.ExitCode);
        Assert.StartsWith("ALLOW", asItself.Output, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Error, asAnother.ExitCode);
        Assert.StartsWith("forbidden: ", asAnother.Error, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Error, suspending.ExitCode);
        Assert.StartsWith("forbidden: requires permission 'agents:suspend'", suspending.Error, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Error, publishing.ExitCode);
        Assert.StartsWith("forbidden: requires permission 'policies:publish'", publishing.Error, StringComparison.Ordinal);
        Assert.All(new[] { asAnother, suspending, publishing }, result => Assert.Single(result.Error.Trim().Split('\n')));
    }

    [Fact]
    public async Task Governance_acts_and_is_recorded_under_its_token_subject_and_an_approver_may_only_read()
    {
        var agent = NewId("gov-bot");
        Assert.Equal(ExitCodes.Success, (await Authz("--as", "governance", "agents", "register", agent, "--owner", "ops@example.com", "--fleet", "research")).ExitCode);
        var granted = await Authz("--as", "governance", "--json", "grants", "create", agent, "--action", "read_file", "--resource", "Document::*", "--expires", "1h");
        Assert.Equal(ExitCodes.Success, granted.ExitCode);
        Assert.Equal("dev-governance", JsonDocument.Parse(granted.Output).RootElement.GetProperty("grantedBy").GetString());
        Assert.Equal(ExitCodes.Success, (await Authz("--as", "governance", "revoke", "agent", agent, "--reason", "e2e")).ExitCode);
        var grants = await Authz("--json", "grants", "list", agent);
        var revoked = JsonDocument.Parse(grants.Output).RootElement.GetProperty("revoked").EnumerateArray().Single();
        Assert.Equal("dev-governance", revoked.GetProperty("revokedBy").GetString());

        var session = (await Authz("sessions", "open", "--agent", "demo-agent")).OutputLines[0];
        var read = await Authz("--as", "approver", "sessions", "show", session);
        var suspend = await Authz("--as", "approver", "agents", "suspend", agent, "--reason", "not an approver's job");
        Assert.Equal(ExitCodes.Success, read.ExitCode);
        Assert.Equal(ExitCodes.Error, suspend.ExitCode);
        Assert.StartsWith("forbidden: requires permission 'agents:suspend'", suspend.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_the_silo_did_not_issue_is_refused_in_one_line()
    {
        var result = await Authz("--token", "not-a-jwt", "agents", "list");

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.StartsWith("not authenticated: the service refused the token from --token (", result.Error, StringComparison.Ordinal);
        Assert.EndsWith("; use authz login, --token or AUTHZ_TOKEN", result.Error.Trim(), StringComparison.Ordinal);
        Assert.DoesNotContain("not-a-jwt", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_sdk_acts_as_the_identity_it_is_given()
    {
        using var auditor = silo.Client("auditor");

        var me = await auditor.WhoAmIAsync();
        var refused = await Assert.ThrowsAsync<RuntimeAuthz.Client.AuthzApiException>(() => auditor.ListAgentsAsync());

        Assert.Equal("dev-auditor", me.Subject);
        Assert.Equal(["auditor"], me.Roles);
        Assert.True(refused.IsForbidden);
        Assert.Contains("agents:read", refused.Detail, StringComparison.Ordinal);
    }
}
