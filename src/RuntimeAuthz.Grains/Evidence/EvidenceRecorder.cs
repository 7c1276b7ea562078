using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RuntimeAuthz.Evidence;

namespace RuntimeAuthz.Grains.Evidence;

/// <summary>
/// Silo-wide evidence writer: holds the signing key and the store, seals records after a chain's
/// head and appends them (the store signs each batch it sends once, see <see cref="EvidenceBatchSeal"/>). Chain heads are owned by single-threaded grains (a session, the
/// governance grain), which pass their head in and keep the returned one.
/// </summary>
public sealed class EvidenceRecorder(IEvidenceStore store, IOptions<EvidenceOptions> options, ILogger<EvidenceRecorder> logger, EvidenceCheckpointHeads? checkpointHeads = null,
    Telemetry.AuthzMetrics? metrics = null) : IDisposable
{
    private readonly EvidenceOptions settings = options.Value;
    private readonly SemaphoreSlim keyGate = new(1, 1);
    private EvidenceSigningKey? signingKey;

    public bool Enabled => settings.Enabled;
    public IEvidenceStore Store => store;
    public EvidenceRedactor Redactor { get; } = new(options.Value.Redact);
    /// <summary>The redactor for decision records, or null when evidence is off (no record, so no input to digest).</summary>
    public EvidenceRedactor? DecisionRedactor => settings.Enabled ? Redactor : null;

    /// <summary>
    /// Seals <paramref name="body"/> after <paramref name="head"/> and appends it. When the sequence is
    /// taken (an earlier append committed although it reported failure), re-reads the head from the
    /// store and appends once more. Returns the new head, or null when no record could be persisted.
    /// </summary>
    public async Task<EvidenceHead?> AppendAsync(EvidenceBody body, EvidenceHead head)
    {
        if (!settings.Enabled) return head;
        var started = metrics?.Timestamp() ?? 0;
        using var span = Telemetry.AuthzMetrics.StartAppend(body.Chain, head.Sequence + 1);
        var appended = await AppendUnmeasuredAsync(body, head);
        metrics?.Appended(span, body.Chain, appended is null ? "not_written" : "durable", started);
        return appended;
    }

    private async Task<EvidenceHead?> AppendUnmeasuredAsync(EvidenceBody body, EvidenceHead head)
    {
        using var timeout = new CancellationTokenSource(settings.AppendTimeout);
        try
        {
            var key = await GetSigningKeyAsync(timeout.Token);
            var entry = EvidenceSealer.SealUnsigned(body, head, key.KeyId);
            try
            {
                await store.AppendUnsignedAsync(entry, key, timeout.Token);
            }
            catch (EvidenceConflictException)
            {
                var stored = await store.ReadHeadAsync(body.Chain, timeout.Token);
                logger.LogWarning("Evidence chain {Chain} head was {Sequence} in memory but {StoredSequence} in storage; continuing after the stored head",
                    body.Chain, head.Sequence, stored.Sequence);
                entry = EvidenceSealer.SealUnsigned(body, stored, key.KeyId);
                await store.AppendUnsignedAsync(entry, key, timeout.Token);
            }
            checkpointHeads?.Appended(entry);
            return new EvidenceHead(entry.Sequence, entry.Hash);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Evidence record for chain {Chain} ({Kind}) could not be persisted", body.Chain, body.Kind);
            return null;
        }
    }

    /// <summary>
    /// Seals <paramref name="body"/> after <paramref name="head"/> and appends it within the append
    /// timeout, saying exactly what is known afterwards: durable, certainly not written, sequence taken
    /// by another record, or unknown (sent, but not confirmed in time: it may still land).
    /// </summary>
    public async Task<AppendResult> TryAppendAsync(EvidenceBody body, EvidenceHead head, string? replay = null)
    {
        if (!settings.Enabled) return new AppendResult(AppendStatus.Durable, head, null);
        var started = metrics?.Timestamp() ?? 0;
        using var span = Telemetry.AuthzMetrics.StartAppend(body.Chain, head.Sequence + 1);
        var result = await TryAppendUnmeasuredAsync(body, head, replay);
        metrics?.Appended(span, body.Chain, result.Status switch
        {
            AppendStatus.Durable => "durable",
            AppendStatus.NotWritten => "not_written",
            AppendStatus.Conflict => "conflict",
            _ => "unknown",
        }, started);
        return result;
    }

    private async Task<AppendResult> TryAppendUnmeasuredAsync(EvidenceBody body, EvidenceHead head, string? replay)
    {
        // A chain found behind its checkpoint is not continued (see AgentSessionGrain.Anchor.cs).
        if (checkpointHeads?.Refuses(body.Chain) == true) return new AppendResult(AppendStatus.NotWritten, head, null);
        using var timeout = new CancellationTokenSource(settings.AppendTimeout);
        EvidenceEntry entry;
        EvidenceSigningKey key;
        try
        {
            key = await GetSigningKeyAsync(timeout.Token);
            entry = EvidenceSealer.SealUnsigned(body, head, key.KeyId) with { Replay = replay };
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Evidence record for chain {Chain} ({Kind}) could not be sealed", body.Chain, body.Kind);
            return new AppendResult(AppendStatus.NotWritten, head, null);
        }
        try
        {
            await store.AppendUnsignedAsync(entry, key, timeout.Token);
            checkpointHeads?.Appended(entry);
            return new AppendResult(AppendStatus.Durable, new EvidenceHead(entry.Sequence, entry.Hash), entry);
        }
        catch (EvidenceConflictException)
        {
            return new AppendResult(AppendStatus.Conflict, head, entry);
        }
        catch (EvidenceNotWrittenException ex)
        {
            logger.LogError(ex, "Evidence record {Sequence} of chain {Chain} ({Kind}) was not written", entry.Sequence, body.Chain, body.Kind);
            return new AppendResult(AppendStatus.NotWritten, head, entry);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Evidence record {Sequence} of chain {Chain} ({Kind}) was not confirmed in time; it may still be stored", entry.Sequence, body.Chain, body.Kind);
            return new AppendResult(AppendStatus.Unknown, head, entry);
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

    /// <summary>The key records are signed with (checkpoints are signed with it too).</summary>
    public Task<EvidenceSigningKey> SigningKeyAsync(CancellationToken cancellationToken) => GetSigningKeyAsync(cancellationToken);

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

/// <summary>What is known about an append once <see cref="EvidenceRecorder.TryAppendAsync"/> returns.</summary>
public enum AppendStatus
{
    Durable,
    /// <summary>Certainly not stored: nothing to correct later.</summary>
    NotWritten,
    /// <summary>The sequence is taken by another record: the chain moved on without this writer.</summary>
    Conflict,
    /// <summary>Sent but not confirmed: the record may still land.</summary>
    Unknown,
}

/// <param name="Head">The chain's head after the append when durable; the head it was sealed after otherwise.</param>
/// <param name="Entry">The sealed entry as linked and hashed (null when evidence is off or sealing failed); the store signs it, with its batch.</param>
public sealed record AppendResult(AppendStatus Status, EvidenceHead Head, EvidenceEntry? Entry);
