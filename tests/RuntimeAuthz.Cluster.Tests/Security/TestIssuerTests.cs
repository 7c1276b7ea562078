using System.Net;
using System.Text.Json.Nodes;
using RuntimeAuthz.Cluster.Tests.Infrastructure;

namespace RuntimeAuthz.Cluster.Tests.Security;

/// <summary>One running test issuer shared by the tests that do not change its keys.</summary>
public sealed class SharedTestIssuer : IAsyncLifetime
{
    public static readonly IssuerClient Governance = new("governance-ci", "governance-secret", Subject: "alice@example.org", Roles: ["governance"]);
    public static readonly IssuerClient Pep = new("gateway", "gateway-secret", Roles: ["pep", "auditor"], AuthzAgents: ["agent-1", "agent-2"]);
    public static readonly IssuerClient Agent = new("agent-1-client", "agent-secret", Roles: ["agent"], AgentId: "agent-1");
    public static readonly IssuerClient ShortLivedOtherAudience = new("other-audience", "other-secret", Roles: ["admin"], Audience: "someone-else", TokenLifetimeSeconds: 120);

    public OidcIssuerProcess Issuer { get; private set; } = null!;

    public async Task InitializeAsync() => Issuer = await OidcIssuerProcess.StartAsync([Governance, Pep, Agent, ShortLivedOtherAudience]);

    public async Task DisposeAsync() => await Issuer.DisposeAsync();
}

/// <summary>The test issuer on its own, before any silo trusts it: what it publishes and issues, and what it refuses.</summary>
public sealed class TestIssuerTests(SharedTestIssuer shared) : IClassFixture<SharedTestIssuer>
{
    private OidcIssuerProcess Issuer => shared.Issuer;

    [Fact]
    public async Task Discovery_names_the_issuer_its_token_endpoint_and_jwks()
    {
        var discovery = await Issuer.GetDiscoveryAsync();

        Assert.Equal(Issuer.Authority.ToString(), discovery["issuer"]!.GetValue<string>());
        Assert.Equal(new Uri(Issuer.Authority, "connect/token").ToString(), discovery["token_endpoint"]!.GetValue<string>());
        Assert.Equal(new Uri(Issuer.Authority, ".well-known/jwks").ToString(), discovery["jwks_uri"]!.GetValue<string>());
        Assert.Contains("client_credentials", JwtParts.Strings(discovery["grant_types_supported"]));
        var key = Assert.Single(await Issuer.GetSigningKeysAsync());
        Assert.Equal("EC", key["kty"]!.GetValue<string>());
        Assert.Equal("ES256", key["alg"]!.GetValue<string>());
        Assert.Null(key["d"]); // the private part never leaves the issuer
    }

    [Fact]
    public async Task A_client_credentials_token_is_a_signed_jwt_with_the_clients_claims()
    {
        var token = await Issuer.GetTokenAsync(SharedTestIssuer.Governance);

        var (header, payload) = JwtParts.Read(token);
        Assert.Equal("ES256", header["alg"]!.GetValue<string>());
        Assert.Equal(Issuer.Authority.ToString(), payload["iss"]!.GetValue<string>());
        Assert.Equal(["runtimeauthz"], JwtParts.Strings(payload["aud"]));
        Assert.Equal("alice@example.org", payload["sub"]!.GetValue<string>());
        Assert.Equal(["governance"], JwtParts.Strings(payload["roles"]));
        Assert.Null(payload["agent_id"]);
        Assert.Equal(3600, payload["exp"]!.GetValue<long>() - payload["iat"]!.GetValue<long>());
        var key = Assert.Single(await Issuer.GetSigningKeysAsync(), jwk => jwk["kid"]!.GetValue<string>() == header["kid"]!.GetValue<string>());
        Assert.True(JwtParts.VerifiesEs256(token, key));
        var otherPayload = (await Issuer.GetTokenAsync(SharedTestIssuer.Pep)).Split('.')[1];
        var parts = token.Split('.');
        Assert.False(JwtParts.VerifiesEs256($"{parts[0]}.{otherPayload}.{parts[2]}", key));
    }

    [Fact]
    public async Task Agent_and_pep_tokens_carry_agent_claims_and_subject_defaults_to_the_client_id()
    {
        var (_, agent) = JwtParts.Read(await Issuer.GetTokenAsync(SharedTestIssuer.Agent));
        Assert.Equal("agent-1-client", agent["sub"]!.GetValue<string>());
        Assert.Equal("agent-1", agent["agent_id"]!.GetValue<string>());
        Assert.Equal(["agent"], JwtParts.Strings(agent["roles"]));

        var (_, pep) = JwtParts.Read(await Issuer.GetTokenAsync(SharedTestIssuer.Pep));
        Assert.IsType<JsonArray>(pep["roles"]);
        Assert.Equal(["pep", "auditor"], JwtParts.Strings(pep["roles"]));
        Assert.Equal(["agent-1", "agent-2"], JwtParts.Strings(pep["authz_agents"]));
    }

    [Fact]
    public async Task A_client_can_have_its_own_audience_and_lifetime()
    {
        var (_, payload) = JwtParts.Read(await Issuer.GetTokenAsync(SharedTestIssuer.ShortLivedOtherAudience));

        Assert.Equal(["someone-else"], JwtParts.Strings(payload["aud"]));
        Assert.Equal(120, payload["exp"]!.GetValue<long>() - payload["iat"]!.GetValue<long>());
    }

    [Theory]
    [InlineData("governance-ci", "wrong-secret")]
    [InlineData("governance-ci", "governance-secret ")]
    [InlineData("nobody", "governance-secret")]
    public async Task A_wrong_secret_or_unknown_client_gets_invalid_client_and_no_token(string clientId, string secret)
    {
        var reply = await Issuer.RequestTokenAsync(clientId, secret);

        Assert.Equal(HttpStatusCode.Unauthorized, reply.Status);
        Assert.Equal("invalid_client", reply.Error);
        Assert.Null(reply.AccessToken);
    }

    [Theory]
    [InlineData("governance-ci", "", "client_secret")]
    [InlineData("", "governance-secret", "client_id")]
    public async Task A_request_without_client_id_or_secret_is_an_invalid_request(string clientId, string secret, string missing)
    {
        var reply = await Issuer.RequestTokenAsync(clientId, secret);

        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Equal("invalid_request", reply.Error);
        Assert.Contains(missing, reply.ErrorDescription);
        Assert.Null(reply.AccessToken);
    }

    [Fact]
    public async Task A_grant_other_than_client_credentials_is_refused()
    {
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "password",
            ["client_id"] = SharedTestIssuer.Governance.ClientId,
            ["client_secret"] = SharedTestIssuer.Governance.Secret,
            ["username"] = "alice",
            ["password"] = "alice",
        });
        using var response = await Issuer.Http.PostAsync("connect/token", form);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("unsupported_grant_type", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_rotation_request_with_a_bad_retire_value_is_a_400_problem_and_keeps_the_keys()
    {
        var before = (await Issuer.GetSigningKeysAsync()).Select(key => key["kid"]!.GetValue<string>()).ToList();

        var reply = await Issuer.Http.SendAsync(HttpMethod.Post, "test/rotate-key?retire=maybe");

        Assert.Contains("retire must be true or false", reply.AssertProblem(HttpStatusCode.BadRequest));
        Assert.Equal(before, (await Issuer.GetSigningKeysAsync()).Select(key => key["kid"]!.GetValue<string>()));
    }
}

/// <summary>Key rotation and the issuer's refusal of a bad command line or clients file; each test runs its own issuer process.</summary>
public sealed class TestIssuerLifecycleTests
{
    [Fact]
    public async Task Rotation_signs_new_tokens_with_the_new_key_and_retiring_removes_old_keys_from_jwks()
    {
        var client = new IssuerClient("rotating", "rotating-secret", Roles: ["auditor"]);
        await using var issuer = await OidcIssuerProcess.StartAsync([client]);
        var first = await issuer.GetTokenAsync(client);
        var firstKey = JwtParts.Read(first).Header["kid"]!.GetValue<string>();

        var rotated = await issuer.RotateKeyAsync(retirePrevious: false);
        var second = await issuer.GetTokenAsync(client);

        Assert.NotEqual(firstKey, rotated.KeyId);
        Assert.Equal(rotated.KeyId, JwtParts.Read(second).Header["kid"]!.GetValue<string>());
        Assert.Equal([rotated.KeyId, firstKey], await KeyIdsAsync(issuer));
        Assert.Empty(rotated.RetiredKeyIds);

        var retiring = await issuer.RotateKeyAsync(retirePrevious: true);
        var third = await issuer.GetTokenAsync(client);

        Assert.Equal([retiring.KeyId], await KeyIdsAsync(issuer));
        Assert.Equal([rotated.KeyId, firstKey], retiring.RetiredKeyIds);
        Assert.True(JwtParts.VerifiesEs256(third, Assert.Single(await issuer.GetSigningKeysAsync())));
        Assert.False(JwtParts.VerifiesEs256(first, Assert.Single(await issuer.GetSigningKeysAsync())));
    }

    public static TheoryData<string[], string> BadCommandLines => new()
    {
        { [], "--port is required" },
        { ["--port", "70000", "--clients", "c.json"], "--port must be an integer from 1 to 65535, not '70000'" },
        { ["--port", "5000"], "--clients is required" },
        { ["--port", "5000", "--clients", "/nonexistent/clients.json"], "clients file '/nonexistent/clients.json' does not exist" },
        { ["--port", "5000", "--clients", "c.json", "--verbose"], "unknown argument '--verbose'" },
        { ["--port", "5000", "--clients"], "--clients needs a value" },
        { ["--port", "5000", "--port", "5001"], "--port given twice" },
        { ["--port", "5000", "--clients", "c.json", "--token-lifetime", "0"], "--token-lifetime must be an integer from 1 to 86400, not '0'" },
    };

    [Theory]
    [MemberData(nameof(BadCommandLines))]
    public async Task A_bad_command_line_exits_2_with_a_message_and_the_usage(string[] args, string message)
    {
        var (exitCode, error) = await OidcIssuerProcess.RunToExitAsync(args);

        Assert.Equal(2, exitCode);
        Assert.Contains($"test issuer: {message}", error);
        Assert.Contains("usage: RuntimeAuthz.TestIssuer", error);
        Assert.DoesNotContain("   at ", error); // no stack trace
    }

    public static TheoryData<string, string> BadClientFiles => new()
    {
        { "{}", "has no \"clients\" array" },
        { "{\"clients\": [", "is not valid" },
        { "{\"clients\": [{\"client_id\": \"a\", \"secret\": \"s\", \"role\": [\"admin\"]}]}", "is not valid" },
        { "{\"clients\": [{\"client_id\": \"a\"}]}", "clients[0].secret is required" },
        { "{\"clients\": [{\"client_id\": \" \", \"secret\": \"s\"}]}", "clients[0].client_id is required" },
        { "{\"clients\": [{\"client_id\": \"a\", \"secret\": \"s\"}, {\"client_id\": \"a\", \"secret\": \"t\"}]}", "clients[1].client_id 'a' is registered twice" },
        { "{\"clients\": [{\"client_id\": \"a\", \"secret\": \"s\", \"roles\": [\"\"]}]}", "clients[0].roles has a blank role" },
        { "{\"clients\": [{\"client_id\": \"a\", \"secret\": \"s\", \"token_lifetime_seconds\": 0}]}", "clients[0].token_lifetime_seconds must be from 1 to 86400" },
    };

    [Theory]
    [MemberData(nameof(BadClientFiles))]
    public async Task A_bad_clients_file_exits_2_naming_the_problem(string json, string message)
    {
        var file = Path.Combine(Path.GetTempPath(), $"authz-bad-clients-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, json);
        try
        {
            var (exitCode, error) = await OidcIssuerProcess.RunToExitAsync(["--port", FreePorts.Next().ToString(), "--clients", file]);

            Assert.Equal(2, exitCode);
            Assert.Contains(file, error);
            Assert.Contains(message, error);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static async Task<IReadOnlyList<string>> KeyIdsAsync(OidcIssuerProcess issuer) =>
        [.. (await issuer.GetSigningKeysAsync()).Select(key => key["kid"]!.GetValue<string>())];
}
