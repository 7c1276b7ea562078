using System.Globalization;
using System.Text.RegularExpressions;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains;

/// <summary>
/// What a policy's annotations mean to the decision path, read once when a version is compiled:
/// <c>@risk("&lt;integer ≥ 0&gt;")</c> adds to the session's risk when the policy determines an
/// allow, <c>@approval("required"|"none"|"&lt;n&gt;")</c> turns that allow into ApprovalRequired
/// ("required" = one approver, "2".."10" = that many distinct approvers).
/// </summary>
public sealed record PolicyTraits(long Risk, int Approvers)
{
    public const string RiskAnnotation = "risk";
    public const string ApprovalAnnotation = "approval";
    public const int MaxApprovers = 10;
    public static readonly PolicyTraits None = new(0, 0);

    public bool RequiresApproval => Approvers > 0;

    /// <summary>The traits of one policy, or the located problem with its annotations.</summary>
    public static (PolicyTraits? Traits, SourceIssue? Issue) Read(RuntimeAuthz.Policy.Policy policy, string sourceName)
    {
        long risk = 0;
        if (policy.Annotations.TryGetValue(RiskAnnotation, out var riskText)
            && !(long.TryParse(riskText, NumberStyles.None, CultureInfo.InvariantCulture, out risk)))
        {
            return (null, IssueAt(policy, sourceName, RiskAnnotation,
                $"{policy.Id}: @risk must be a non-negative integer, e.g. @risk(\"5\"), not \"{riskText}\""));
        }
        var approvers = 0;
        if (policy.Annotations.TryGetValue(ApprovalAnnotation, out var approvalText))
        {
            if (approvalText == "required") approvers = 1;
            else if (approvalText != "none"
                && !(int.TryParse(approvalText, NumberStyles.None, CultureInfo.InvariantCulture, out approvers) && approvers is >= 1 and <= MaxApprovers))
            {
                return (null, IssueAt(policy, sourceName, ApprovalAnnotation,
                    $"{policy.Id}: @approval must be \"required\" or \"none\", or a number of distinct approvers from 1 to {MaxApprovers}, not \"{approvalText}\""));
            }
        }
        return (risk == 0 && approvers == 0 ? None : new PolicyTraits(risk, approvers), null);
    }

    /// <summary>The annotation's position in the source: the policy's start plus the offset of <c>@name</c> in its text.</summary>
    internal static SourceIssue IssueAt(RuntimeAuthz.Policy.Policy policy, string sourceName, string annotation, string message)
    {
        var match = Regex.Match(policy.Text, @"@\s*" + annotation + @"\b");
        var (line, column) = (policy.Line, policy.Column);
        if (match.Success)
        {
            var before = policy.Text.AsSpan(0, match.Index);
            var newlines = before.Count('\n');
            line += newlines;
            column = newlines == 0 ? column + match.Index : match.Index - before.LastIndexOf('\n');
        }
        return new SourceIssue { Source = sourceName, Line = line, Column = column, Message = message };
    }
}
