using Microsoft.Extensions.Options;
using RuntimeAuthz.Evidence;

namespace RuntimeAuthz.Grains.Evidence;

/// <summary>
/// Configuration section <c>Evidence</c> (see docs/configuration.md). Its account settings
/// (<c>ConnectionString</c>, or <c>ServiceUri</c> with <c>Credential</c>) default to the grain storage account.
/// </summary>
public sealed class EvidenceOptions : StorageAccountOptions
{
    public const string Section = "Evidence";

    /// <summary>Off only for benchmarks: decisions are then returned without evidence.</summary>
    public bool Enabled { get; set; } = true;

    public string Table { get; set; } = AzureTableEvidenceStore.DefaultTableName;

    /// <summary>
    /// Session partitions when the silo creates the evidence table (an existing table keeps its count):
    /// concurrent records of one partition share a batch transaction, so fewer means larger batches.
    /// </summary>
    public int SessionPartitions { get; set; } = AzureTableEvidenceStore.DefaultSessionPartitions;

    /// <summary>
    /// Append requests one session partition may have in flight at once. A second and later request goes out
    /// only for at least <see cref="BatchWhileBusy"/> waiting records; fewer wait for the request in flight and join the next batch.
    /// </summary>
    public int RequestsInFlightPerPartition { get; set; } = AzureTableEvidenceStore.DefaultRequestsInFlightPerPartition;

    /// <summary>Waiting records that justify another request while one of the partition's is in flight (1 to 100).</summary>
    public int BatchWhileBusy { get; set; } = AzureTableEvidenceStore.DefaultBatchWhileBusy;

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

    /// <summary>Longest <see cref="AppendTimeout"/> accepted: a decision must not wait longer than a caller would.</summary>
    public static readonly TimeSpan MaxAppendTimeout = TimeSpan.FromMinutes(2);
}

/// <summary>Refuses to start with evidence settings that would fail every decision later (or crash it), naming the key.</summary>
public sealed class EvidenceOptionsValidator : IValidateOptions<EvidenceOptions>
{
    private const string S = EvidenceOptions.Section;
    private const int MaxRequestsInFlight = 64;

    public ValidateOptionsResult Validate(string? name, EvidenceOptions options)
    {
        var failures = new List<string>();
        if (options.AppendTimeout <= TimeSpan.Zero || options.AppendTimeout > EvidenceOptions.MaxAppendTimeout)
            failures.Add($"{S}:AppendTimeout must be greater than 00:00:00 and at most {EvidenceOptions.MaxAppendTimeout:c}, not {options.AppendTimeout:c}");
        if (options.SessionPartitions is < 1 or > AzureTableEvidenceStore.MaxSessionPartitions)
            failures.Add($"{S}:SessionPartitions must be between 1 and {AzureTableEvidenceStore.MaxSessionPartitions}, not {options.SessionPartitions}");
        if (options.RequestsInFlightPerPartition is < 1 or > MaxRequestsInFlight)
            failures.Add($"{S}:RequestsInFlightPerPartition must be between 1 and {MaxRequestsInFlight}, not {options.RequestsInFlightPerPartition}");
        if (options.BatchWhileBusy is < 1 or > AzureTableEvidenceStore.MaxBatch)
            failures.Add($"{S}:BatchWhileBusy must be between 1 and {AzureTableEvidenceStore.MaxBatch}, not {options.BatchWhileBusy}");
        if (!TableNames.IsValid(options.Table))
            failures.Add($"{S}:Table '{options.Table}' is not a table name ({TableNames.Rule})");
        if (!string.IsNullOrWhiteSpace(options.SigningKeyPath) && !File.Exists(options.SigningKeyPath))
            failures.Add($"{S}:SigningKeyPath: the file '{options.SigningKeyPath}' does not exist");
        for (var i = 0; i < options.AdditionalPublicKeys.Count; i++)
        {
            var spec = options.AdditionalPublicKeys[i];
            var path = spec.Contains('=', StringComparison.Ordinal) ? spec[(spec.IndexOf('=', StringComparison.Ordinal) + 1)..] : spec;
            if (string.IsNullOrWhiteSpace(path) || !File.Exists(path))
                failures.Add($"{S}:AdditionalPublicKeys:{i}: the file '{path}' does not exist (expected keyId=path/to/public.pem or a path)");
        }
        for (var i = 0; i < options.Redact.Count; i++)
        {
            if (!string.IsNullOrWhiteSpace(options.Redact[i]) && !options.Redact[i].StartsWith('/'))
                failures.Add($"{S}:Redact:{i} '{options.Redact[i]}' is not a JSON pointer (it starts with '/', e.g. /input/apiKey)");
        }
        if (options.HasAccount) options.ValidateAccount(S, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Azure Table naming rule (Azurite does not enforce it; Azure does, at the first write).</summary>
public static class TableNames
{
    public const string Rule = "3 to 63 letters or digits, starting with a letter";

    public static bool IsValid(string? name) =>
        name is { Length: >= 3 and <= 63 } && char.IsAsciiLetter(name[0]) && name.All(char.IsAsciiLetterOrDigit);
}
