namespace RuntimeAuthz.Evidence;

/// <summary>Append-only storage of evidence entries, plus the public keys (and the development key) that go with them.</summary>
public interface IEvidenceStore
{
    /// <summary>
    /// Durably appends one entry. Throws <see cref="EvidenceConflictException"/> when the sequence
    /// number is taken; <see cref="EvidenceNotWrittenException"/> when it is certain the entry was not
    /// stored (cancelled before it was sent); any other exception when storage failed and the entry may
    /// or may not have been stored.
    /// </summary>
    Task AppendAsync(EvidenceEntry entry, CancellationToken cancellationToken = default);

    /// <summary>
    /// As <see cref="AppendAsync(EvidenceEntry, CancellationToken)"/> for an entry sealed without a signature
    /// (<see cref="EvidenceSealer.SealUnsigned"/>): the store signs it with <paramref name="signer"/>, a store that
    /// batches with one signature for the batch (<see cref="EvidenceBatchSeal"/>). By default it is signed on its own.
    /// </summary>
    Task AppendUnsignedAsync(EvidenceEntry unsigned, EvidenceSigningKey signer, CancellationToken cancellationToken = default) =>
        AppendAsync(EvidenceBatchSeal.Sign([unsigned], signer)[0], cancellationToken);

    /// <summary>Up to <paramref name="maxCount"/> entries of a chain after <paramref name="afterSequence"/>, in sequence order.</summary>
    Task<IReadOnlyList<EvidenceEntry>> ReadRangeAsync(string chain, long afterSequence, int maxCount, CancellationToken cancellationToken = default);

    /// <summary>A chain's entries in sequence order (as stored; nothing is checked here).</summary>
    Task<IReadOnlyList<EvidenceEntry>> ReadChainAsync(string chain, CancellationToken cancellationToken = default);

    /// <summary>The last stored entry of a chain, or <see cref="EvidenceHead.Empty"/>.</summary>
    Task<EvidenceHead> ReadHeadAsync(string chain, CancellationToken cancellationToken = default);

    /// <summary>Every chain id that holds records, sorted.</summary>
    Task<IReadOnlyList<string>> ListChainsAsync(CancellationToken cancellationToken = default);

    /// <summary>Registers a public key under its id (idempotent for the same key; a different key under a used id is a conflict).</summary>
    Task PublishPublicKeyAsync(string keyId, string publicKeyPem, CancellationToken cancellationToken = default);

    /// <summary>Every registered public key: key id → SubjectPublicKeyInfo PEM.</summary>
    Task<IReadOnlyDictionary<string, string>> ListPublicKeysAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// The shared development signing key (PKCS#8 PEM), created from <paramref name="candidatePem"/>
    /// when none exists yet; concurrent callers all get the one that was stored first.
    /// </summary>
    Task<string> GetOrCreateDevelopmentKeyAsync(string candidatePem, CancellationToken cancellationToken = default);
}

/// <summary>The entry was certainly not stored: the append was withdrawn before it was sent.</summary>
public sealed class EvidenceNotWrittenException(string chain, long sequence, Exception? inner = null)
    : Exception($"evidence record {sequence} of chain '{chain}' was withdrawn before it was sent", inner);

/// <summary>The entry's sequence number is already taken in its chain (append-only: nothing is overwritten).</summary>
public sealed class EvidenceConflictException(string chain, long sequence, Exception? inner = null)
    : Exception($"evidence record {sequence} of chain '{chain}' already exists", inner)
{
    public string Chain { get; } = chain;
    public long Sequence { get; } = sequence;
}
