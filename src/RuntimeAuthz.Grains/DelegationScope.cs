using System.Text;
using System.Text.RegularExpressions;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains;

/// <summary>A parsed delegation resource pattern: <c>*</c>, <c>Type::*</c> or <c>Type::"id"</c>.</summary>
public readonly record struct ResourcePattern(string? Type, string? Id)
{
    private static readonly Regex Shape = new(
        "^(?<type>[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*)::(?:(?<star>\\*)|\"(?<id>(?:[^\"\\\\]|\\\\.)*)\")$",
        RegexOptions.CultureInvariant);

    public bool Matches(string type, string id) =>
        (Type is null || string.Equals(Type, type, StringComparison.Ordinal)) &&
        (Id is null || string.Equals(Id, id, StringComparison.Ordinal));

    public static bool TryParse(string text, out ResourcePattern pattern, out string error)
    {
        pattern = default;
        error = "";
        var trimmed = text.Trim();
        if (trimmed == "*")
        {
            pattern = new ResourcePattern(null, null);
            return true;
        }
        var match = Shape.Match(trimmed);
        if (!match.Success)
        {
            error = $"resource pattern '{text}' must be '*', 'Type::*' or 'Type::\"id\"'";
            return false;
        }
        var type = match.Groups["type"].Value;
        if (match.Groups["star"].Success)
        {
            pattern = new ResourcePattern(type, null);
            return true;
        }
        pattern = new ResourcePattern(type, Unescape(match.Groups["id"].Value));
        return true;
    }

    private static string Unescape(string quoted)
    {
        if (!quoted.Contains('\\', StringComparison.Ordinal)) return quoted;
        var builder = new StringBuilder(quoted.Length);
        for (var i = 0; i < quoted.Length; i++)
        {
            var c = quoted[i];
            if (c != '\\' || i + 1 >= quoted.Length)
            {
                builder.Append(c);
                continue;
            }
            var next = quoted[++i];
            builder.Append(next switch { 'n' => '\n', 't' => '\t', 'r' => '\r', '0' => '\0', _ => next });
        }
        return builder.ToString();
    }
}

/// <summary>Decides whether an agent's delegations cover an action on a resource at a point in time.</summary>
public static class DelegationScope
{
    public const string AnyAction = "*";

    public static Delegation? FindCovering(IEnumerable<Delegation> delegations, string action, string resourceType, string resourceId, DateTimeOffset now)
    {
        foreach (var delegation in delegations)
        {
            if (delegation.ExpiresAt <= now || delegation.GrantedAt > now) continue;
            if (!delegation.Actions.Any(a => a == AnyAction || string.Equals(a, action, StringComparison.Ordinal))) continue;
            foreach (var resource in delegation.Resources)
            {
                if (ResourcePattern.TryParse(resource, out var pattern, out _) && pattern.Matches(resourceType, resourceId))
                    return delegation;
            }
        }
        return null;
    }
}
