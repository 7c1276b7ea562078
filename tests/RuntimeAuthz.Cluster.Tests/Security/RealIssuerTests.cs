using System.Net;
using System.Text.Json.Nodes;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Evidence;

namespace RuntimeAuthz.Cluster.Tests.Security;

/// <summary>
/// Two real issuer processes (the trusted one and a stranger with its own keys and URL) and a silo host that trusts
/// the first through discovery and JWKS, shared by the tests that do not rotate keys.
/// </summary>
public sealed class RealIssuerFixture : IAsyncLifetime
{
    public static readonly IssuerClient Governance = new("governance-ci", "governance-secret", Subject: "alice@example.org", Roles: ["governance"]);
    public static readonly IssuerClient Auditor = new("audit-export", "auditor-secret", Subject: "audit-bot", Roles: ["auditor"]);
    public static readonly IssuerClient Agent = new("agent-7-client", "agent-secret", Subject: "agent-7-workload", Roles: ["agent"], AgentId: "agent-7");
    public static readonly IssuerClient Pep = new("mcp-gateway", "gateway-secret", Roles: ["pep", "responder"], AuthzAgents: ["agent-7", "agent-8"]);
    public static readonly IssuerClient OtherAudience = new("other-audience", "other-secret", Roles: ["admin"], Audience: "not-runtimeauthz");
    public static readonly IssuerClient ShortLived = new("short-lived", "short-secret", Roles: ["admin"], TokenLifetimeSeconds: 1);

    private readonly SemaphoreSlim gate = new(1, 1);
    private RunningHost? host;

    public OidcIssuerProcess Issuer { get; private set; } = null!;

    /// <summary>Registers the same clients and secrets, but signs with its own keys under its own URL.</summary>
    public OidcIssuerProcess Stranger { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        IssuerClient[] clients = [Governance, Auditor, Agent, Pep, OtherAudience, ShortLived];
        var trusted = OidcIssuerProcess.StartAsync(clients);
        var stranger = OidcIssuerProcess.StartAsync(clients);
        try
        {
            await Task.WhenAll(trusted, stranger);
        }
        finally
        {
            // Keep whichever started, so DisposeAsync stops it even when the other failed.
            if (trusted.IsCompletedSuccessfully) Issuer = trusted.Result;
            if (stranger.IsCompletedSuccessfully) Stranger = stranger.Result;
        }
    }

    /// <summary>The silo host trusting <see cref="Issuer"/>; owned (and stopped) by the cluster environment.</summary>
    public async Task<RunningHost> HostAsync(ClusterEnvironment environment)
    {
        await gate.WaitAsync();
        try
        {
            // No clock skew, so the short-lived token is refused as soon as its exp has passed.
            return host ??= await StartHostTrustingAsync(environment, Issuer, "--Authentication:ClockSkewSeconds=0");
        }
        finally
        {
            gate.Release();
        }
    }

    public static Task<RunningHost> StartHostTrustingAsync(ClusterEnvironment environment, OidcIssuerProcess issuer, params string[] moreArgs) =>
        environment.StartHostAsync("real-issuer-" + Guid.NewGuid().ToString("N")[..12], seed: false, extraArgs: [.. issuer.SiloArguments, .. moreArgs]);

    public async Task DisposeAsync()
    {
        if (Issuer is not null) await Issuer.DisposeAsync();
        if (Stranger is not null) await Stranger.DisposeAsync();
    }
}

/// <summary>
/// The silo validating client-credentials tokens from a real OIDC issuer running as its own process: discovery, JWKS,
/// claim mapping, permissions, actors in evidence, foreign issuers and audiences, and signing-key rotation.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class RealIssuerTests(ClusterEnvironment environment, RealIssuerFixture fixture) : IClassFixture<RealIssuerFixture>
{
    [Fact]
    public async Task Whoami_shows_the_subject_issuer_roles_and_expiry_of_a_real_issuer_token()
    {
        var host = await fixture.HostAsync(environment);
        var token = await fixture.Issuer.GetTokenAsync(RealIssuerFixture.Governance);

        var whoami = (await host.ClientWith(token).GetJsonAsync("/v1/whoami")).Json;

        Assert.Equal("alice@example.org", whoami["subject"]!.GetValue<string>());
        Assert.Equal(fixture.Issuer.Authority.ToString(), whoami["issuer"]!.GetValue<string>());
        Assert.Equal(["governance"], JwtParts.Strings(whoami["roles"]));
        Assert.Null(whoami["agentId"]);
        var exp = DateTimeOffset.FromUnixTimeSeconds(JwtParts.Read(token).Payload["exp"]!.GetValue<long>());
        Assert.Equal(exp, whoami["expiresAt"]!.GetValue<DateTimeOffset>());
    }

    [Fact]
    public async Task Agent_and_pep_claims_from_a_real_issuer_token_are_mapped()
    {
        var host = await fixture.HostAsync(environment);

        var agent = (await host.ClientWith(await fixture.Issuer.GetTokenAsync(RealIssuerFixture.Agent)).GetJsonAsync("/v1/whoami")).Json;
        var pep = (await host.ClientWith(await fixture.Issuer.GetTokenAsync(RealIssuerFixture.Pep)).GetJsonAsync("/v1/whoami")).Json;

        Assert.Equal("agent-7-workload", agent["subject"]!.GetValue<string>());
        Assert.Equal(["agent"], JwtParts.Strings(agent["roles"]));
        Assert.Equal("agent-7", agent["agentId"]!.GetValue<string>());
        Assert.Equal("mcp-gateway", pep["subject"]!.GetValue<string>()); // no subject configured: the client id
        Assert.Equal(["pep", "responder"], JwtParts.Strings(pep["roles"]));
        Assert.Equal(["agent-7", "agent-8"], JwtParts.Strings(pep["agents"]));
    }

    [Fact]
    public async Task A_governance_token_publishes_a_policy_and_the_governance_evidence_names_its_subject_and_issuer()
    {
        var host = await fixture.HostAsync(environment);
        var governance = host.ClientWith(await fixture.Issuer.GetTokenAsync(RealIssuerFixture.Governance));
        var note = "real-issuer publish " + Guid.NewGuid().ToString("N");

        var published = await governance.PostJsonAsync("/v1/policies", new JsonObject
        {
            ["policies"] = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Examples, "policies.cedar")),
            ["schema"] = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Examples, "schema.cedarschema")),
            ["note"] = note,
        }.ToJsonString());

        Assert.Equal(HttpStatusCode.Created, published.Status);
        Assert.Equal("alice@example.org", published.Json["author"]!.GetValue<string>());
        var version = published.Json["version"]!.GetValue<long>();

        var auditor = host.ClientWith(await fixture.Issuer.GetTokenAsync(RealIssuerFixture.Auditor));
        var chain = await auditor.GetJsonAsync("/v1/evidence/governance");
        Assert.Equal(HttpStatusCode.OK, chain.Status);
        // The evidence table is shared by every host in the run, so the record is found by its unique note.
        var record = chain.Json["records"]!.AsArray()
            .Select(entry => EvidenceSealer.ParseBody(entry!["body"]!.GetValue<string>()))
            .Single(body => body.Kind == EvidenceKinds.PolicyPublish && body.Input?.Contains(note, StringComparison.Ordinal) == true);
        var input = JsonNode.Parse(record.Input!)!;
        Assert.Equal(note, input["note"]!.GetValue<string>());
        Assert.Equal(version, record.PolicyVersion);
        Assert.Equal("alice@example.org", record.Actor);
        Assert.Equal(fixture.Issuer.Authority.ToString(), input["actorIssuer"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_real_issuer_token_whose_role_lacks_the_permission_gets_403_naming_it()
    {
        var host = await fixture.HostAsync(environment);
        var auditor = host.ClientWith(await fixture.Issuer.GetTokenAsync(RealIssuerFixture.Auditor));
        var agent = host.ClientWith(await fixture.Issuer.GetTokenAsync(RealIssuerFixture.Agent));

        var publish = await auditor.PostJsonAsync("/v1/policies", """{"policies": "permit(principal, action, resource);"}""");
        var evidence = await agent.GetJsonAsync("/v1/evidence/governance");

        Assert.Contains("requires permission 'policies:publish'", publish.AssertProblem(HttpStatusCode.Forbidden));
        Assert.Contains("requires permission 'evidence:read'", evidence.AssertProblem(HttpStatusCode.Forbidden));
    }

    [Fact]
    public async Task A_token_from_another_issuer_is_refused_with_401_even_for_a_known_client()
    {
        var host = await fixture.HostAsync(environment);
        var stranger = await fixture.Stranger.GetTokenAsync(RealIssuerFixture.Governance);

        var reply = await host.ClientWith(stranger).GetJsonAsync("/v1/whoami");

        reply.AssertProblem(HttpStatusCode.Unauthorized);
        AssertInvalidToken(reply);
        Assert.DoesNotContain(stranger, reply.Json.ToJsonString());
    }

    [Fact]
    public async Task A_real_issuer_token_for_another_audience_is_refused_with_401()
    {
        var host = await fixture.HostAsync(environment);
        var token = await fixture.Issuer.GetTokenAsync(RealIssuerFixture.OtherAudience);

        var reply = await host.ClientWith(token).GetJsonAsync("/v1/whoami");

        Assert.Contains("audience", reply.AssertProblem(HttpStatusCode.Unauthorized), StringComparison.OrdinalIgnoreCase);
        AssertInvalidToken(reply);
    }

    [Fact]
    public async Task An_expired_real_issuer_token_is_refused_with_401()
    {
        var host = await fixture.HostAsync(environment);
        var token = await fixture.Issuer.GetTokenAsync(RealIssuerFixture.ShortLived);
        var expires = DateTimeOffset.FromUnixTimeSeconds(JwtParts.Read(token).Payload["exp"]!.GetValue<long>());

        // Wait out the token's own one-second lifetime (by the wall clock the issuer and silo share).
        var remaining = expires - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(1100);
        if (remaining > TimeSpan.Zero) await Task.Delay(remaining);
        var reply = await host.ClientWith(token).GetJsonAsync("/v1/whoami");

        Assert.Contains("expired", reply.AssertProblem(HttpStatusCode.Unauthorized), StringComparison.OrdinalIgnoreCase);
        AssertInvalidToken(reply);
    }

    [Fact]
    public async Task A_rotated_signing_key_is_picked_up_without_restarting_the_silo_and_the_old_key_still_works()
    {
        var (issuer, host, client, before) = await StartOwnIssuerAndSiloAsync("rotation-governance");
        await using var stopIssuer = issuer;

        var rotated = await issuer.RotateKeyAsync(retirePrevious: false);
        var after = await issuer.GetTokenAsync(client);
        Assert.Equal(rotated.KeyId, JwtParts.Read(after).Header["kid"]!.GetValue<string>());

        // The unknown key id makes the silo re-read JWKS (RefreshOnIssuerKeyNotFound); no restart in between.
        var accepted = await UntilAcceptedAsync(host.ClientWith(after), "/v1/whoami");
        Assert.Equal(HttpStatusCode.OK, accepted.Status);
        Assert.Equal(client.ClientId, accepted.Json["subject"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await host.ClientWith(before).GetJsonAsync("/v1/whoami")).Status);
    }

    // Fails today (the old token gets 200): JwtBearer's ConfigurationManager keeps "last known good" configurations for an
    // hour and JsonWebTokenHandler retries them, so a key removed from JWKS keeps working. Passes once CallerAuthentication
    // sets UseLastKnownGoodConfiguration = false on the authority scheme's configuration manager (see the issue 9 report).
    [Fact]
    public async Task A_token_signed_with_a_key_retired_from_jwks_is_refused_once_the_silo_has_reread_jwks()
    {
        var (issuer, host, client, old) = await StartOwnIssuerAndSiloAsync("retire-governance");
        await using var stopIssuer = issuer;

        var rotated = await issuer.RotateKeyAsync(retirePrevious: true);
        Assert.Contains(JwtParts.Read(old).Header["kid"]!.GetValue<string>(), rotated.RetiredKeyIds);
        // A token with the new key makes the silo re-read JWKS, which no longer has the old key.
        var accepted = await UntilAcceptedAsync(host.ClientWith(await issuer.GetTokenAsync(client)), "/v1/whoami");
        Assert.Equal(HttpStatusCode.OK, accepted.Status);

        var refused = await host.ClientWith(old).GetJsonAsync("/v1/whoami");

        refused.AssertProblem(HttpStatusCode.Unauthorized);
        AssertInvalidToken(refused);
    }

    /// <summary>
    /// Its own issuer and silo for a rotation test: rotating changes the issuer's keys, and the silo re-reads JWKS on an
    /// unknown key id at once only the first time (later re-reads wait for JwtBearer's RefreshInterval).
    /// Returns a first token the silo has accepted.
    /// </summary>
    private async Task<(OidcIssuerProcess Issuer, RunningHost Host, IssuerClient Client, string FirstToken)> StartOwnIssuerAndSiloAsync(string clientId)
    {
        var client = new IssuerClient(clientId, clientId + "-secret", Roles: ["governance"]);
        var issuer = await OidcIssuerProcess.StartAsync([client]);
        try
        {
            var host = await RealIssuerFixture.StartHostTrustingAsync(environment, issuer);
            var first = await issuer.GetTokenAsync(client);
            Assert.Equal(HttpStatusCode.OK, (await host.ClientWith(first).GetJsonAsync("/v1/whoami")).Status);
            return (issuer, host, client, first);
        }
        catch
        {
            await issuer.DisposeAsync();
            throw;
        }
    }

    private static void AssertInvalidToken(HttpReply reply)
    {
        var challenge = Assert.Single(reply.Response.Headers.WwwAuthenticate);
        Assert.Equal("Bearer", challenge.Scheme);
        Assert.Contains("error=\"invalid_token\"", challenge.Parameter);
    }

    /// <summary>
    /// Repeats the call while it gets 401: the silo re-reads JWKS in the background after the first unknown key id,
    /// so the first calls may still see the old key set. Returns the first reply that is not a 401.
    /// </summary>
    private static Task<HttpReply> UntilAcceptedAsync(HttpClient client, string path) =>
        Eventually.UntilAsync($"{path} to accept the token once the silo has re-read JWKS", () => client.GetJsonAsync(path), reply => reply.Status != HttpStatusCode.Unauthorized,
            timeout: TimeSpan.FromSeconds(60), interval: TimeSpan.FromMilliseconds(100), describe: reply => $"{(int)reply.Status} {reply.Body?.ToJsonString()}");
}
