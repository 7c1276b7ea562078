using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RuntimeAuthz.Evidence;

namespace RuntimeAuthz.Grains;

/// <summary>
/// Silo-wide evidence writer: holds the signing key and the store, seals records after a chain's
/// head and appends them. Chain heads are owned by single-threaded grains (a session, the
/// governance grain), which pass their head in and keep the returned one.
/// </summary>
public sealed class EvidenceRecorder(IEvidenceStore store, IOptions<EvidenceOptions> options, ILogger<EvidenceRecorder> logger) : IDisposable
{
    private readonly EvidenceOptions settings = options.Value;
    private readonly SemaphoreSlim keyGate = new(1, 1);
    private EvidenceSigningKey? signingKey;

    public bool Enabled => settings.Enabled;
    public IEvidenceStore Store => store;
    public EvidenceRedactor Redactor { get; } = new(options.Value.Redact);

    /// <summary>
    /// Seals <paramref name="body"/> after <paramref name="head"/> and appends it. When the sequence is
    /// taken (an earlier append committed although it reported failure), re-reads the head from the
    /// store and appends once more. Returns the new head, or null when no record could be persisted.
    /// </summary>
    public async Task<EvidenceHead?> AppendAsync(EvidenceBody body, EvidenceHead head)
    {
        if (!settings.Enabled) return head;
        using var timeout = new CancellationTokenSource(settings.AppendTimeout);
        try
        {
            var key = await GetSigningKeyAsync(timeout.Token);
            var entry = EvidenceSealer.Seal(body, head, key);
            try
            {
                await store.AppendAsync(entry, timeout.Token);
            }
            catch (EvidenceConflictException)
            {
                var stored = await store.ReadHeadAsync(body.Chain, timeout.Token);
                logger.LogWarning("Evidence chain {Chain} head was {Sequence} in memory but {StoredSequence} in storage; continuing after the stored head",
                    body.Chain, head.Sequence, stored.Sequence);
                entry = EvidenceSealer.Seal(body, stored, key);
                await store.AppendAsync(entry, timeout.Token);
            }
            return new EvidenceHead(entry.Sequence, entry.Hash);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Evidence record for chain {Chain} ({Kind}) could not be persisted", body.Chain, body.Kind);
            return null;
        }
    }

    /// <summary>Public keys a verifier needs: the evidence table's registry plus configured (rotated) keys.</summary>
    public async Task<IReadOnlyDictionary<string, string>> PublicKeysAsync(CancellationToken cancellationToken)
    {
        var keys = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (id, pem) in await store.ListPublicKeysAsync(cancellationToken)) keys[id] = pem;
        foreach (var (id, pem) in ConfiguredPublicKeys()) keys[id] = pem;
        if (signingKey is { } key) keys[key.KeyId] = key.PublicKeyPem;
        return keys;
    }

    private IEnumerable<(string Id, string Pem)> ConfiguredPublicKeys()
    {
        foreach (var spec in settings.AdditionalPublicKeys)
        {
            if (string.IsNullOrWhiteSpace(spec)) continue;
            var equals = spec.IndexOf('=');
            var path = equals > 0 ? spec[(equals + 1)..] : spec;
            var pem = File.ReadAllText(path);
            using var key = ECDsa.Create();
            key.ImportFromPem(pem);
            yield return (equals > 0 ? spec[..equals] : EvidenceKeyIds.Derive(key), key.ExportSubjectPublicKeyInfoPem());
        }
    }

    /// <summary>Loads the configured key, or the shared development key (created on first use); registers its public key. Retried until it succeeds.</summary>
    private async Task<EvidenceSigningKey> GetSigningKeyAsync(CancellationToken cancellationToken)
    {
        if (signingKey is { } ready) return ready;
        await keyGate.WaitAsync(cancellationToken);
        try
        {
            if (signingKey is { } loaded) return loaded;
            EvidenceSigningKey key;
            if (!string.IsNullOrWhiteSpace(settings.SigningKeyPath))
            {
                key = EvidenceSigningKey.FromPem(await File.ReadAllTextAsync(settings.SigningKeyPath, cancellationToken), settings.KeyId);
            }
            else
            {
                using var candidate = EvidenceSigningKey.Generate();
                var pem = await store.GetOrCreateDevelopmentKeyAsync(candidate.ExportPrivateKeyPem(), cancellationToken);
                key = EvidenceSigningKey.FromPem(pem, settings.KeyId);
                logger.LogWarning("Evidence is signed with the development key {KeyId} kept in the evidence table; configure Evidence:SigningKeyPath for production", key.KeyId);
            }
            await store.PublishPublicKeyAsync(key.KeyId, key.PublicKeyPem, cancellationToken);
            signingKey = key;
            return key;
        }
        finally
        {
            keyGate.Release();
        }
    }

    public void Dispose()
    {
        signingKey?.Dispose();
        keyGate.Dispose();
    }
}
