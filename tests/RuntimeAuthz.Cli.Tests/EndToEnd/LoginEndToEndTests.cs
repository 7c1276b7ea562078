using System.Text.Json;
using RuntimeAuthz.Cli.Infrastructure;

namespace RuntimeAuthz.Cli.Tests.EndToEnd;

/// <summary><c>authz login</c> with client credentials at a real OIDC issuer (OpenIddict, its own process) that the silo trusts.</summary>
[Collection(RealSiloCollection.Name)]
public sealed class LoginEndToEndTests(RealSilo silo) : IDisposable
{
    private readonly DirectoryInfo _home = Directory.CreateTempSubdirectory("authz-cli-login-e2e-");

    private string ProfilePath => Path.Combine(_home.FullName, "profile.json");

    private Task<CliResult> Authz(IReadOnlyDictionary<string, string> extra, params string[] args)
    {
        var variables = new Dictionary<string, string>(extra) { ["AUTHZ_PROFILE"] = ProfilePath };
        return silo.Authz(variables, args);
    }

    private string[] Login(string clientId) => ["login", "--issuer", silo.Issuer.Authority.ToString(), "--client-id", clientId];

    public void Dispose() => _home.Delete(recursive: true);

    [Fact]
    public async Task Login_with_client_credentials_then_every_command_acts_as_the_service_account()
    {
        var secret = new Dictionary<string, string> { ["AUTHZ_CLIENT_SECRET"] = RealSilo.GovernanceClient.Secret };

        var login = await Authz(secret, Login(RealSilo.GovernanceClient.ClientId));
        Assert.Equal(ExitCodes.Success, login.ExitCode);
        Assert.Contains($"as client ops-cli for {AuthzDisplay()}", login.Output, StringComparison.Ordinal);

        var me = await Authz(new Dictionary<string, string>(), "--json", "whoami");
        Assert.Equal(ExitCodes.Success, me.ExitCode);
        var identity = JsonDocument.Parse(me.Output).RootElement;
        Assert.Equal("svc-ops", identity.GetProperty("subject").GetString());
        Assert.Equal(silo.Issuer.Authority.ToString().TrimEnd('/'), identity.GetProperty("issuer").GetString()!.TrimEnd('/'));
        Assert.Equal(["governance"], identity.GetProperty("roles").EnumerateArray().Select(role => role.GetString()));

        // Governance may list agents but not decide; the profile's token is what is sent (no --as, no development token).
        Assert.Equal(ExitCodes.Success, (await Authz(new Dictionary<string, string>(), "agents", "list")).ExitCode);
        var deciding = await Authz(new Dictionary<string, string>(), "check", "--agent", "demo-agent", "--action", "read_file", "--resource", "Document::\"q3-report\"");
        Assert.Equal(ExitCodes.Error, deciding.ExitCode);
        Assert.StartsWith("forbidden: ", deciding.Error, StringComparison.Ordinal);

        Assert.Equal(ExitCodes.Success, (await Authz(new Dictionary<string, string>(), "logout")).ExitCode);
        var afterLogout = await Authz(new Dictionary<string, string>(), "--json", "whoami");
        Assert.Equal("dev-admin", JsonDocument.Parse(afterLogout.Output).RootElement.GetProperty("subject").GetString());
    }

    [Fact]
    public async Task A_wrong_secret_is_invalid_client_and_saves_nothing()
    {
        var result = await Authz(new Dictionary<string, string> { ["AUTHZ_CLIENT_SECRET"] = "not-the-secret-7f3a" }, Login(RealSilo.GovernanceClient.ClientId));

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.StartsWith($"error: login failed: issuer {silo.Issuer.Authority.ToString().TrimEnd('/')} refused the client credentials: invalid_client", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-secret-7f3a", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(ProfilePath));
    }

    [Fact]
    public async Task An_issuer_that_is_not_running_is_refused_in_one_line()
    {
        var closedPort = FreePorts.Next();

        var result = await Authz(new Dictionary<string, string> { ["AUTHZ_CLIENT_SECRET"] = "s" }, "login", "--issuer", $"http://127.0.0.1:{closedPort}", "--client-id", "ops-cli");

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.StartsWith($"error: login failed: cannot use issuer http://127.0.0.1:{closedPort}: cannot reach", result.Error, StringComparison.Ordinal);
        Assert.Single(result.Error.Trim().Split('\n'));
    }

    private string AuthzDisplay() => silo.BaseAddress.ToString().TrimEnd('/');
}
