namespace RuntimeAuthz.Grains.Approvals;

/// <summary>Configuration section <c>Approvals</c> (see docs/configuration.md).</summary>
public sealed class ApprovalOptions
{
    public const string Section = "Approvals";
    public static readonly TimeSpan MinExpiry = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan MaxExpiry = TimeSpan.FromHours(24);

    /// <summary>How long an approval request stays open (and an approval usable): default 5 minutes, 10 seconds to 24 hours.</summary>
    public int ExpirySeconds { get; set; } = 300;

    /// <summary>Whether the agent's owner may approve its calls (default no: the owner is not independent of the agent).</summary>
    public bool OwnerMayApprove { get; set; }

    public TimeSpan Expiry => TimeSpan.FromSeconds(ExpirySeconds);

    /// <summary>A message naming the key when a setting is out of bounds, else null.</summary>
    public string? Problem() => Expiry < MinExpiry || Expiry > MaxExpiry
        ? $"{Section}:{nameof(ExpirySeconds)} must be between {MinExpiry.TotalSeconds:0} and {MaxExpiry.TotalSeconds:0}, not {ExpirySeconds}"
        : null;
}
