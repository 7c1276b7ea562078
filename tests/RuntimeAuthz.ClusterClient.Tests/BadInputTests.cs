using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.ClusterClient.Tests;

/// <summary>Bad arguments are refused before any grain call; bad configuration stops the host naming the key.</summary>
[Collection(ClusterCollection.Name)]
public sealed class BadInputTests(ClusterFixture fixture)
{
    private static readonly ResourceRef Document = new("Document", "d", JsonSerializer.Deserialize<JsonElement>("""{"fleet":"research"}"""));

    public static TheoryData<string> BadCalls => new()
    {
        "open: agent id empty", "open: agent id with a slash", "open: lifetime 0", "open: idle timeout negative",
        "session id empty", "session id too long", "decide: action empty", "decide: resource type not a Cedar type",
        "decide: resource id empty", "decide: properties not an object", "decide: context an array", "decide: approval id malformed",
        "outcome: decision id not a GUID", "outcome: unknown kind", "approval id without a session", "approval id with a short suffix",
        "wait: negative timeout",
    };

    [Theory]
    [MemberData(nameof(BadCalls))]
    public async Task A_bad_argument_is_refused_before_any_call(string call)
    {
        var authz = (await fixture.ConnectAsync(await fixture.SharedAsync())).Authz;
        var session = "s-" + Guid.NewGuid().ToString("N")[..8];
        var decisionsBefore = CallsTo(session);
        Func<Task> attempt = call switch
        {
            "open: agent id empty" => () => authz.OpenSessionAsync(new OpenSessionRequest("")),
            "open: agent id with a slash" => () => authz.OpenSessionAsync(new OpenSessionRequest("a/b")),
            "open: lifetime 0" => () => authz.OpenSessionAsync(new OpenSessionRequest(ClusterFixture.Agent, LifetimeSeconds: 0)),
            "open: idle timeout negative" => () => authz.OpenSessionAsync(new OpenSessionRequest(ClusterFixture.Agent, IdleTimeoutSeconds: -5)),
            "session id empty" => () => authz.DecideAsync("", new DecisionRequest("read_file", Document)),
            "session id too long" => () => authz.GetSessionAsync(new string('s', 129)),
            "decide: action empty" => () => authz.DecideAsync(session, new DecisionRequest(" ", Document)),
            "decide: resource type not a Cedar type" => () => authz.DecideAsync(session, new DecisionRequest("read_file", new ResourceRef("Doc ument", "d"))),
            "decide: resource id empty" => () => authz.DecideAsync(session, new DecisionRequest("read_file", new ResourceRef("Document", ""))),
            "decide: properties not an object" => () => authz.DecideAsync(session, new DecisionRequest("read_file", new ResourceRef("Document", "d", Json("3")))),
            "decide: context an array" => () => authz.DecideAsync(session, new DecisionRequest("read_file", Document, Context: Json("[1]"))),
            "decide: approval id malformed" => () => authz.DecideAsync(session, new DecisionRequest("read_file", Document, ApprovalId: "approve-me")),
            "outcome: decision id not a GUID" => () => authz.ReportOutcomeAsync(session, new ReportOutcomeRequest("decision-1", OutcomeKind.Response)),
            "outcome: unknown kind" => () => authz.ReportOutcomeAsync(session, new ReportOutcomeRequest(Guid.NewGuid().ToString(), (OutcomeKind)7)),
            "approval id without a session" => () => authz.GetApprovalAsync("~0123456789abcdef"),
            "approval id with a short suffix" => () => authz.GetApprovalAsync(session + "~0123"),
            "wait: negative timeout" => () => authz.WaitForApprovalAsync(session + "~0123456789abcdef", TimeSpan.FromSeconds(-1)),
            _ => throw new ArgumentOutOfRangeException(nameof(call)),
        };

        var refused = await Record.ExceptionAsync(attempt);

        Assert.IsAssignableFrom<ArgumentException>(refused);
        Assert.Equal(decisionsBefore, CallsTo(session));
    }

    public static TheoryData<string, string, string> BadOptions => new()
    {
        { "Caller", "", "AuthzCluster:Caller" },
        { "ClusterId", " ", "AuthzCluster:ClusterId" },
        { "Clustering", "Consul", "AuthzCluster:Clustering" },
        { "Clustering", "AzureTableStorage", "AuthzCluster:MembershipConnectionString" },
        { "Gateways:0", "gateway.internal:30000", "AuthzCluster:Gateways:0" },
        { "Gateways:0", "127.0.0.1", "AuthzCluster:Gateways:0" },
        { "ResponseTimeout", "00:00:00", "AuthzCluster:ResponseTimeout" },
        { "ReadAttempts", "0", "AuthzCluster:ReadAttempts" },
        { "ConnectAttempts", "-1", "AuthzCluster:ConnectAttempts" },
        { "Tls:CertificatePath", "/nonexistent/client.pfx", "AuthzCluster:Tls:CertificatePath" },
        { "Tls:AllowedSiloThumbprints:0", "not-hex", "AuthzCluster:Tls:AllowedSiloThumbprints:0" },
        { "Tls:TrustedIssuerCertificatePath", "/nonexistent/ca.cer", "AuthzCluster:Tls:TrustedIssuerCertificatePath" },
        { "Tls:CertificatePassword", "secret-password-value", "AuthzCluster:Tls" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void A_bad_setting_fails_naming_its_key_and_never_echoes_a_password(string key, string value, string named)
    {
        var settings = new Dictionary<string, string?>
        {
            ["AuthzCluster:Caller"] = "pep:tests",
            ["AuthzCluster:Gateways:0"] = "127.0.0.1:30000",
            ["AuthzCluster:" + key] = value,
        };
        var section = new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection(AuthzClusterOptions.Section);

        var error = Assert.Throws<OptionsValidationException>(() => AuthzClusterOptions.Read(section));

        Assert.Contains(named, error.Message);
        Assert.DoesNotContain("secret-password-value", error.Message);
    }

    [Fact]
    public void A_valid_section_binds_every_setting()
    {
        var settings = new Dictionary<string, string?>
        {
            ["AuthzCluster:Caller"] = "pep:billing", ["AuthzCluster:ClusterId"] = "c1", ["AuthzCluster:ServiceId"] = "s1",
            ["AuthzCluster:Gateways:0"] = "10.0.0.11:30000", ["AuthzCluster:Gateways:1"] = "[::1]:30001",
            ["AuthzCluster:ResponseTimeout"] = "00:00:03", ["AuthzCluster:ReadAttempts"] = "5", ["AuthzCluster:Reporter"] = "Agent",
        };
        var options = AuthzClusterOptions.Read(new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection(AuthzClusterOptions.Section));

        Assert.Equal(("pep:billing", "c1", "s1"), (options.Caller, options.ClusterId, options.ServiceId));
        Assert.Equal(["10.0.0.11:30000", "[::1]:30001"], options.Gateways);
        Assert.Equal((TimeSpan.FromSeconds(3), 5, RuntimeAuthz.Contracts.ReporterKind.Agent), (options.ResponseTimeout, options.ReadAttempts, options.Reporter));
    }

    private static int CallsTo(string session) => ClusterFixture.DecideCalls.GetValueOrDefault(session);

    private static JsonElement Json(string text) => JsonSerializer.Deserialize<JsonElement>(text);
}
