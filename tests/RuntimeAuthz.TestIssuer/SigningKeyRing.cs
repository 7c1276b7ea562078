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

    /// <summary>The key ids JWKS publishes, the current key first.</summary>
    public IReadOnlyList<string> PublishedKeyIds
    {
        get { lock (gate) return [current.Key.KeyId, .. previous.Select(key => key.Key.KeyId)]; }
    }

    /// <summary>Makes a new key current; the old current key stays published unless <paramref name="retirePrevious"/>.</summary>
    /// <returns>The new key's id and the ids removed from JWKS.</returns>
    public (string KeyId, IReadOnlyList<string> Retired) Rotate(bool retirePrevious)
    {
        CancellationTokenSource signal;
        string keyId;
        List<string> retired;
        lock (gate)
        {
            var next = NewKey();
            List<SigningCredentials> kept = [current, .. previous];
            retired = retirePrevious ? [.. kept.Select(key => key.Key.KeyId)] : [];
            previous = retirePrevious ? [] : kept;
            current = next;
            keyId = next.Key.KeyId;
            signal = changed;
            changed = new CancellationTokenSource();
        }
        // Not disposed: OptionsMonitor re-subscribes from inside this callback, and the source holds no timer.
        signal.Cancel();
        return (keyId, retired);
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
