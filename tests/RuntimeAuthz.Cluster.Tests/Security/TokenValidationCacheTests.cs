using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.Tokens;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Cluster.Tests.Security;

/// <summary>The bearer-token validation cache: a token is checked once, honoured no longer than it is valid, and never beyond the cache's age bound.</summary>
public sealed class TokenValidationCacheTests : IDisposable
{
    private readonly FakeTimeProvider time = new(DateTimeOffset.UtcNow);
    private readonly CallerAuthenticationOptions options = new();
    private readonly DevelopmentIssuer issuer;
    private readonly DevelopmentIssuer otherIssuer;

    public TokenValidationCacheTests()
    {
        issuer = new DevelopmentIssuer(Options.Create(options), time);
        otherIssuer = new DevelopmentIssuer(Options.Create(options), time);
    }

    public void Dispose()
    {
        issuer.Dispose();
        otherIssuer.Dispose();
    }

    /// <summary>Validation as the silo's development scheme does it, with the lifetime judged on the test's clock.</summary>
    private TokenValidationParameters Parameters(DevelopmentIssuer keyOf) => new()
    {
        ValidIssuer = DevelopmentIssuer.Issuer, ValidAudience = options.Audience, IssuerSigningKey = keyOf.VerificationKey,
        RequireExpirationTime = true, ClockSkew = TimeSpan.Zero,
        LifetimeValidator = (notBefore, expires, _, _) => expires is { } end && time.GetUtcNow().UtcDateTime < end,
    };

    private string Token(TimeSpan lifetime) => issuer.Mint("pep-1", [Roles.Pep], null, ["*"], lifetime);

    [Fact]
    public async Task A_cached_token_is_refused_once_it_has_expired()
    {
        var handler = new CachingJsonWebTokenHandler(time, TimeSpan.Zero);
        var token = Token(TimeSpan.FromSeconds(30));
        Assert.True((await handler.ValidateTokenAsync(token, Parameters(issuer))).IsValid);
        Assert.Equal(1, handler.Count);
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.True((await handler.ValidateTokenAsync(token, Parameters(issuer))).IsValid);

        time.Advance(TimeSpan.FromSeconds(2));
        var expired = await handler.ValidateTokenAsync(token, Parameters(issuer));
        Assert.False(expired.IsValid);
        Assert.IsAssignableFrom<SecurityTokenInvalidLifetimeException>(expired.Exception);
        Assert.Equal(0, handler.Count);
    }

    [Fact]
    public async Task A_validated_token_is_not_checked_again_until_the_cache_age_bound_then_it_is()
    {
        var handler = new CachingJsonWebTokenHandler(time, TimeSpan.Zero);
        var token = Token(TimeSpan.FromHours(1));
        var checks = 0;
        var parameters = Parameters(issuer);
        var lifetime = parameters.LifetimeValidator;
        parameters.LifetimeValidator = (notBefore, expires, t, p) => { checks++; return lifetime!(notBefore, expires, t, p); };

        var first = await handler.ValidateTokenAsync(token, parameters);
        Assert.True(first.IsValid);
        Assert.Equal(1, checks);
        var remembered = await handler.ValidateTokenAsync(token, parameters);
        Assert.True(remembered.IsValid);
        Assert.Equal(1, checks);
        Assert.Equal("pep-1", remembered.ClaimsIdentity.FindFirst(options.Claims.Subject)?.Value);
        Assert.NotSame(first.ClaimsIdentity, remembered.ClaimsIdentity);

        time.Advance(CachingJsonWebTokenHandler.MaxAge);
        Assert.True((await handler.ValidateTokenAsync(token, parameters)).IsValid);
        Assert.Equal(2, checks);
    }

    [Fact]
    public async Task A_cached_token_whose_key_the_scheme_no_longer_trusts_is_checked_again_and_refused()
    {
        var handler = new CachingJsonWebTokenHandler(time, TimeSpan.Zero);
        var token = Token(TimeSpan.FromHours(1));
        var trusted = Parameters(issuer);
        Assert.True((await handler.ValidateTokenAsync(token, trusted)).IsValid);
        Assert.True((await handler.ValidateTokenAsync(token, trusted)).IsValid);

        // The issuer's keys were re-read without the key that signed the token (retired from JWKS).
        var retired = Parameters(otherIssuer);
        var refused = await handler.ValidateTokenAsync(token, retired);
        Assert.False(refused.IsValid);
        Assert.IsAssignableFrom<SecurityTokenInvalidSignatureException>(refused.Exception);
        Assert.Equal(0, handler.Count);
    }

    [Fact]
    public async Task A_refused_token_is_not_remembered_and_a_changed_token_is_checked_on_its_own()
    {
        var handler = new CachingJsonWebTokenHandler(time, TimeSpan.Zero);
        var token = Token(TimeSpan.FromHours(1));
        Assert.False((await handler.ValidateTokenAsync(token, Parameters(otherIssuer))).IsValid);
        Assert.Equal(0, handler.Count);
        Assert.True((await handler.ValidateTokenAsync(token, Parameters(issuer))).IsValid);

        // One character of the signature changed: a different string, validated (and refused) on its own.
        var tampered = token[..^2] + (token[^2] == 'A' ? 'B' : 'A') + token[^1];
        Assert.False((await handler.ValidateTokenAsync(tampered, Parameters(issuer))).IsValid);
        Assert.Equal(1, handler.Count);
    }
}
