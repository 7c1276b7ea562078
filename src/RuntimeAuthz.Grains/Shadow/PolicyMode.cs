using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains.Shadow;

/// <summary>
/// <c>@mode("log-only")</c> on a policy: in a live version it is evaluated and reported as if it
/// were enforced (see the version's shadow report), but its effect is left out of every decision.
/// <c>@mode("enforce")</c> is the default.
/// </summary>
public static class PolicyMode
{
    public const string Annotation = "mode";
    public const string LogOnly = "log-only";
    public const string Enforce = "enforce";

    /// <summary>Whether the policy is log-only, or the located problem with its <c>@mode</c>.</summary>
    public static (bool LogOnly, SourceIssue? Issue) Read(RuntimeAuthz.Policy.Policy policy, string sourceName)
    {
        if (!policy.Annotations.TryGetValue(Annotation, out var mode)) return (false, null);
        return mode switch
        {
            LogOnly => (true, null),
            Enforce => (false, null),
            _ => (false, PolicyTraits.IssueAt(policy, sourceName, Annotation,
                $"{policy.Id}: @mode must be \"{LogOnly}\" or \"{Enforce}\", not \"{mode}\"")),
        };
    }
}
