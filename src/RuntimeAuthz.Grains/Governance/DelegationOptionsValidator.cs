using Microsoft.Extensions.Options;

namespace RuntimeAuthz.Grains.Governance;

/// <summary>Refuses to start with delegation limits that would refuse every grant or elevation, naming the key.</summary>
public sealed class DelegationOptionsValidator : IValidateOptions<DelegationOptions>
{
    /// <summary>Deeper chains than this are not reviewable by anyone; a typo (300 for 3) is refused rather than obeyed.</summary>
    public const int MaxDepthLimit = 32;

    public static readonly TimeSpan MaxElevationLifetimeLimit = TimeSpan.FromDays(7);

    public ValidateOptionsResult Validate(string? name, DelegationOptions options)
    {
        var failures = new List<string>();
        if (options.MaxDelegationDepth is < 0 or > MaxDepthLimit)
            failures.Add($"{DelegationOptions.SectionName}:MaxDelegationDepth must be from 0 to {MaxDepthLimit}, not {options.MaxDelegationDepth}");
        if (options.MaxElevationLifetime <= TimeSpan.Zero || options.MaxElevationLifetime > MaxElevationLifetimeLimit)
            failures.Add($"{DelegationOptions.SectionName}:MaxElevationLifetime must be greater than 00:00:00 and at most {MaxElevationLifetimeLimit:c}, not {options.MaxElevationLifetime:c}");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
