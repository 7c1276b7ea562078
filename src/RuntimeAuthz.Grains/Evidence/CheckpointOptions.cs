using Microsoft.Extensions.Options;
using RuntimeAuthz.Evidence.Checkpoints;

namespace RuntimeAuthz.Grains.Evidence;

/// <summary>
/// Configuration section <c>Evidence:Checkpoints</c>: the store that anchors the evidence chains'
/// heads outside their table. Its account is configured on its own (<c>ConnectionString</c>, or
/// <c>ServiceUri</c> with <c>Credential=DefaultAzureCredential</c>) and never falls back to the
/// evidence account: the same account is fine, but only when set here as well. Unset: no checkpoints.
/// </summary>
public sealed class EvidenceCheckpointOptions : StorageAccountOptions
{
    public const string Section = EvidenceOptions.Section + ":Checkpoints";

    public string Table { get; set; } = AzureTableCheckpointStore.DefaultTableName;

    /// <summary>How often the heads of chains that advanced are sealed into a checkpoint.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(5);

    public static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan MaxInterval = TimeSpan.FromHours(1);

    /// <summary>Checkpoints are written only when their store is configured.</summary>
    public bool Configured => HasAccount;
}

/// <summary>Refuses to start with checkpoint settings that cannot work, naming the key.</summary>
public sealed class EvidenceCheckpointOptionsValidator(IOptions<EvidenceOptions> evidence) : IValidateOptions<EvidenceCheckpointOptions>
{
    private const string S = EvidenceCheckpointOptions.Section;

    public ValidateOptionsResult Validate(string? name, EvidenceCheckpointOptions options)
    {
        var failures = new List<string>();
        if (options.Interval < EvidenceCheckpointOptions.MinInterval || options.Interval > EvidenceCheckpointOptions.MaxInterval)
            failures.Add($"{S}:Interval must be from {EvidenceCheckpointOptions.MinInterval:c} to {EvidenceCheckpointOptions.MaxInterval:c}, not {options.Interval:c}");
        if (!TableNames.IsValid(options.Table))
            failures.Add($"{S}:Table '{options.Table}' is not a table name ({TableNames.Rule})");
        else if (EvidenceTable() is { } table && string.Equals(options.Table, table, StringComparison.OrdinalIgnoreCase))
            failures.Add($"{S}:Table must not be the evidence table '{table}' ({EvidenceOptions.Section}:Table): the checkpoints anchor that table from outside it");
        if (options.HasAccount) options.ValidateAccount(S, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Null when the evidence settings are invalid themselves (their own validation names those).</summary>
    private string? EvidenceTable()
    {
        try { return evidence.Value.Table; }
        catch (OptionsValidationException) { return null; }
    }
}
