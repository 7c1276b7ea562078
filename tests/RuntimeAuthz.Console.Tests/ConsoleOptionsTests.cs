using Microsoft.Extensions.Options;
using RuntimeAuthz.Silo.Security;
using RuntimeAuthz.Silo.WebConsole;

namespace RuntimeAuthz.Console.Tests;

public sealed class ConsoleOptionsTests
{
    [Theory]
    [InlineData(null, "client", null, "openid", "there is no authority: set Authentication:Authority")]
    [InlineData("http://idp.example.com", "client", null, "openid", "must be an absolute https URL")]
    [InlineData("https://idp.example.com", "client", null, "profile email", "Console:Oidc:Scope must include 'openid'")]
    [InlineData("https://idp.example.com", " ", null, "openid", "Console:Oidc:ClientId must not be empty")]
    [InlineData(null, "client", "not a url", "openid", "Console:Oidc:Authority 'not a url' must be an absolute https URL")]
    public void A_console_sign_in_that_cannot_work_is_refused_naming_the_key(string? authority, string clientId, string? consoleAuthority, string scope, string expected)
    {
        var result = Validate(authority, new ConsoleOptions { Oidc = { ClientId = clientId, Authority = consoleAuthority, Scope = scope } });
        Assert.True(result.Failed);
        Assert.Contains(expected, result.FailureMessage);
    }

    [Theory]
    [InlineData("https://idp.example.com/realms/authz/", null)]
    [InlineData(null, "http://127.0.0.1:5555")]
    public void A_public_client_at_an_https_or_loopback_authority_is_offered_to_the_browser(string? authority, string? consoleAuthority)
    {
        var console = new ConsoleOptions { Oidc = { ClientId = "authz-console", Authority = consoleAuthority, Resource = "runtimeauthz" } };
        Assert.True(Validate(authority, console).Succeeded);
        var config = ConsoleEndpoints.ConfigOf(console, new CallerAuthenticationOptions { Authority = authority });
        Assert.False(config.DevelopmentLogin);
        Assert.Equal((consoleAuthority ?? authority)!.TrimEnd('/'), config.Oidc!.Authority);
        Assert.Equal("authz-console", config.Oidc.ClientId);
        Assert.Equal("openid profile", config.Oidc.Scope);
        Assert.Equal("runtimeauthz", config.Oidc.Resource);
    }

    [Fact]
    public void Without_a_client_id_there_is_no_oidc_sign_in()
    {
        var config = ConsoleEndpoints.ConfigOf(new ConsoleOptions(), new CallerAuthenticationOptions { Authority = "https://idp.example.com", DevelopmentIssuer = { Enabled = true } });
        Assert.Null(config.Oidc);
        Assert.True(config.DevelopmentLogin);
        Assert.DoesNotContain(Roles.Agent, config.Roles);
        Assert.DoesNotContain(Roles.Pep, config.Roles);
    }

    private static ValidateOptionsResult Validate(string? authority, ConsoleOptions console) =>
        new ConsoleOptionsValidator(Options.Create(new CallerAuthenticationOptions { Authority = authority })).Validate(null, console);
}
