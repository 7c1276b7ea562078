using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RuntimeAuthz.HttpGateway;

namespace RuntimeAuthz.Enforcement.Tests.HttpGateway;

/// <summary>A configuration that could forward calls undecided, or to the wrong place, stops the gateway at start with the setting named.</summary>
public sealed class GatewayConfigurationTests : IDisposable
{
    private const string S = GatewayOptions.Section;
    private readonly string tokenFile = Path.Combine(Path.GetTempPath(), $"authz-gateway-token-{Guid.NewGuid():N}");

    public GatewayConfigurationTests() => File.WriteAllText(tokenFile, "a-token");

    public void Dispose() => File.Delete(tokenFile);

    private Dictionary<string, string?> Valid() => new()
    {
        [$"{S}:Cluster:Url"] = "http://127.0.0.1:5080",
        [$"{S}:Cluster:TokenFile"] = tokenFile,
        [$"{S}:Authentication:Authority"] = "https://login.example.com",
        [$"{S}:Upstreams:billing"] = "http://127.0.0.1:7000",
        [$"{S}:Routes:0:Name"] = "pay",
        [$"{S}:Routes:0:Method"] = "POST",
        [$"{S}:Routes:0:Path"] = "/accounts/{account}/payments",
        [$"{S}:Routes:0:Upstream"] = "billing",
        [$"{S}:Routes:0:Action"] = "send_payment",
        [$"{S}:Routes:0:ResourceType"] = "Account",
        [$"{S}:Routes:0:ResourceId"] = "{account}",
    };

    [Fact]
    public async Task The_valid_configuration_starts()
    {
        await using var app = Build(Valid());
        await app.StartAsync();
        await app.StopAsync();
    }

    [Theory]
    [InlineData("Cluster:Url", null, "Cluster:Url must be the silo's http(s) address")]
    [InlineData("Cluster:Url", "ftp://silo", "Cluster:Url must be the silo's http(s) address")]
    [InlineData("Cluster:TokenFile", null, "give either Issuer/ClientId/ClientSecretFile or TokenFile")]
    [InlineData("Cluster:TokenFile", "/nonexistent/token", "TokenFile '/nonexistent/token' does not exist")]
    [InlineData("Cluster:ClientId", "gateway", "client credentials need Issuer")]
    [InlineData("Cluster:TimeoutSeconds", "0", "Cluster:TimeoutSeconds must be between 1 and 120")]
    [InlineData("Authentication:Authority", null, "Authentication:Authority must be the OIDC issuer URL")]
    [InlineData("Authentication:Authority", "http://login.example.com", "must be an https URL")]
    [InlineData("Authentication:Audience", " ", "Audience must not be empty")]
    [InlineData("ApprovalWaitSeconds", "61", "ApprovalWaitSeconds must be between 0 and 60")]
    [InlineData("MaxBodyBytes", "0", "MaxBodyBytes must be between 1 and 16 MiB")]
    [InlineData("Upstreams:billing", "not a url", "Upstreams:billing must be an http(s) address")]
    [InlineData("Routes:0:Name", null, "Routes:0:Name is required")]
    [InlineData("Routes:0:Method", "BREW", "Routes:0:Method must be one of")]
    [InlineData("Routes:0:Path", "accounts", "Routes:0:Path must be a route template starting with '/'")]
    [InlineData("Routes:0:Path", "/accounts/{account", "is not a route template")]
    [InlineData("Routes:0:Upstream", "payroll", "Routes:0:Upstream 'payroll' is not one of")]
    [InlineData("Routes:0:Action", "send payment", "Routes:0:Action must be an action name")]
    [InlineData("Routes:0:ResourceType", "Account::", "Routes:0:ResourceType must be a Cedar entity type")]
    [InlineData("Routes:0:ResourceId", null, "Routes:0:ResourceId is required")]
    [InlineData("Routes:0:ResourceId", "{acct}", "ResourceId uses {acct}, which /accounts/{account}/payments does not define")]
    public async Task A_bad_setting_stops_the_gateway_at_start_and_is_named(string key, string? value, string expected)
    {
        var settings = Valid();
        settings[$"{S}:{key}"] = value;
        if (value is null) settings.Remove($"{S}:{key}");

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var app = Build(settings);
            await app.StartAsync();
        });

        Assert.Contains(expected, failure.Message);
    }

    [Fact]
    public async Task Two_routes_with_one_name_or_one_method_and_path_are_refused()
    {
        var settings = Valid();
        foreach (var (key, value) in Valid().Where(e => e.Key.StartsWith($"{S}:Routes:0:", StringComparison.Ordinal)))
        {
            settings[key.Replace("Routes:0:", "Routes:1:", StringComparison.Ordinal)] = value;
        }

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var app = Build(settings);
            await app.StartAsync();
        });

        Assert.Contains("Routes:1:Name 'pay' is used by two routes", failure.Message);
        Assert.Contains("another route already maps POST /accounts/{account}/payments", failure.Message);
    }

    [Fact]
    public async Task No_routes_at_all_is_refused()
    {
        var settings = Valid().Where(e => !e.Key.Contains(":Routes:", StringComparison.Ordinal)).ToDictionary();

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var app = Build(settings);
            await app.StartAsync();
        });

        Assert.Contains("Routes is empty", failure.Message);
    }

    private static Microsoft.AspNetCore.Builder.WebApplication Build(Dictionary<string, string?> settings) =>
        GatewayHost.Build(["--urls", "http://127.0.0.1:0", .. settings.Where(e => e.Value is not null).Select(e => $"--{e.Key}={e.Value}")],
            builder => builder.Logging.SetMinimumLevel(LogLevel.Warning));
}
