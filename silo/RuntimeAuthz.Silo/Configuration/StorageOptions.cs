using Microsoft.Extensions.Options;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Grains.Evidence;

namespace RuntimeAuthz.Silo.Configuration;

/// <summary>The <c>Storage</c> section: the account holding grain state and (with AzureTable clustering) cluster membership.</summary>
public sealed class StorageOptions : StorageAccountOptions
{
    public const string Section = "Storage";
    public const string ConnectionStringKey = Section + ":ConnectionString";
    public const string DefaultGrainStateTable = "AuthzGrainState";

    public string GrainStateTable { get; set; } = DefaultGrainStateTable;
}

public sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        var failures = new List<string>();
        options.ValidateAccount(StorageOptions.Section, failures);
        if (!TableNames.IsValid(options.GrainStateTable))
            failures.Add($"{StorageOptions.Section}:GrainStateTable '{options.GrainStateTable}' is not a table name ({TableNames.Rule})");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
