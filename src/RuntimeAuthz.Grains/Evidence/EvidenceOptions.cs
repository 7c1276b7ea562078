namespace RuntimeAuthz.Grains;

/// <summary>Configuration section <c>Evidence</c> (see docs/configuration.md).</summary>
public sealed class EvidenceOptions
{
    public const string Section = "Evidence";

    /// <summary>Off only for benchmarks: decisions are then returned without evidence.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Azure Storage connection string of the evidence table; defaults to the grain storage account.</summary>
    public string? ConnectionString { get; set; }

    public string Table { get; set; } = RuntimeAuthz.Evidence.AzureTableEvidenceStore.DefaultTableName;

    /// <summary>PEM file with the ECDSA P-256 private signing key. Unset: the development key shared through the evidence table.</summary>
    public string? SigningKeyPath { get; set; }

    /// <summary>Id of the signing key; unset: derived from the public key (<c>p256-…</c>).</summary>
    public string? KeyId { get; set; }

    /// <summary>Public keys of earlier (rotated) signing keys: <c>keyId=path/to/public.pem</c> or just a path (id derived).</summary>
    public List<string> AdditionalPublicKeys { get; set; } = [];

    /// <summary>JSON pointers into a decision's input (<c>/input/password</c>, <c>/context/*/token</c>) stored as "[redacted]".</summary>
    public List<string> Redact { get; set; } = [];

    /// <summary>Upper bound for writing one record (key loading included) before the decision is denied.</summary>
    public TimeSpan AppendTimeout { get; set; } = TimeSpan.FromSeconds(8);
}
