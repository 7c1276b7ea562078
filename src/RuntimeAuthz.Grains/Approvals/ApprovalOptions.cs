using Microsoft.Extensions.Options;

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

    /// <summary>Receivers of approval events (signed, retried, never blocking a decision; see <see cref="ApprovalWebhooks"/>).</summary>
    public List<ApprovalWebhookTarget> Webhooks { get; set; } = [];

    public TimeSpan Expiry => TimeSpan.FromSeconds(ExpirySeconds);

    /// <summary>A message naming the key when a setting is out of bounds, else null.</summary>
    public string? Problem()
    {
        if (Expiry < MinExpiry || Expiry > MaxExpiry)
            return $"{Section}:{nameof(ExpirySeconds)} must be between {MinExpiry.TotalSeconds:0} and {MaxExpiry.TotalSeconds:0}, not {ExpirySeconds}";
        for (var i = 0; i < Webhooks.Count; i++)
        {
            if (!Uri.TryCreate(Webhooks[i].Url, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
                return $"{Section}:{nameof(Webhooks)}:{i}:Url must be an absolute http or https URL";
            if (string.IsNullOrWhiteSpace(Webhooks[i].Secret)) return $"{Section}:{nameof(Webhooks)}:{i}:Secret is required (the HMAC key receivers verify)";
        }
        return null;
    }
}

/// <summary>Refuses the silo's start when an Approvals setting is out of bounds, naming the key.</summary>
public sealed class ApprovalOptionsValidator : IValidateOptions<ApprovalOptions>
{
    public ValidateOptionsResult Validate(string? name, ApprovalOptions options) =>
        options.Problem() is { } problem ? ValidateOptionsResult.Fail(problem) : ValidateOptionsResult.Success;
}
