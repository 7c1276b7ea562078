using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Server;

namespace RuntimeAuthz.TestIssuer;

/// <summary>
/// The issuer's ES256 signing keys, generated in memory. New tokens are signed with <see cref="Current"/>;
/// JWKS publishes the current key and the previous ones that were not retired. Rotating signals an options
/// change so OpenIddict rebuilds its server options (and so its JWKS document) from the new key set.
/// </summary>
public sealed class SigningKeyRing : IConfigureOptions<OpenIddictServerOptions>, IOptionsChangeTokenSource<OpenIddictServerOptions>
{
    private readonly Lock gate = new();
    private SigningCredentials current;
    private List<SigningCredentials> previous = [];
    private CancellationTokenSource changed = new();

    public SigningKeyRing() => current = NewKey();

    public string? Name => Options.DefaultName;

    public SigningCredentials Current
    {
        get { lock (gate) return current; }
    }

    /// <summary>Makes a new key current; the old current key stays published unless <paramref name="retirePrevious"/>.</summary>
    public RotatedKeys Rotate(bool retirePrevious)
    {
        CancellationTokenSource signal;
        RotatedKeys rotated;
        lock (gate)
        {
            List<SigningCredentials> kept = [current, .. previous];
            current = NewKey();
            previous = retirePrevious ? [] : kept;
            rotated = new RotatedKeys(
                current.Key.KeyId,
                [current.Key.KeyId, .. previous.Select(key => key.Key.KeyId)],
                retirePrevious ? [.. kept.Select(key => key.Key.KeyId)] : []);
            signal = changed;
            changed = new CancellationTokenSource();
        }
        // Not disposed: OptionsMonitor re-subscribes from inside this callback, and the source holds no timer.
        signal.Cancel();
        return rotated;
    }

    public void Configure(OpenIddictServerOptions options)
    {
        lock (gate)
        {
            options.SigningCredentials.Add(current);
            options.SigningCredentials.AddRange(previous);
        }
    }

    public IChangeToken GetChangeToken()
    {
        lock (gate) return new CancellationChangeToken(changed.Token);
    }

    private static SigningCredentials NewKey()
    {
        var key = new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = Guid.NewGuid().ToString("N")[..16] };
        return new SigningCredentials(key, SecurityAlgorithms.EcdsaSha256);
    }
}

/// <summary>The outcome of a rotation: the new current key, what JWKS now publishes (current first), and what left it.</summary>
public sealed record RotatedKeys(string KeyId, IReadOnlyList<string> PublishedKeyIds, IReadOnlyList<string> RetiredKeyIds);
