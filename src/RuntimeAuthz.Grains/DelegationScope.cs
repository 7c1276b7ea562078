using System.Collections.Concurrent;
using System.Text;
using System.Text.RegularExpressions;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Policy;

namespace RuntimeAuthz.Grains;

/// <summary>
/// A parsed delegation resource pattern: <c>*</c>, <c>Type::*</c>, <c>Type::"id"</c>, or
/// <c>Type like "glob"</c> where <c>*</c> in the glob matches any characters (<c>\*</c> is a
/// literal star), e.g. <c>Document like "projects/alpha/*"</c> for a hierarchy of ids.
/// </summary>
public readonly record struct ResourcePattern(string? Type, string? Id)
{
    private static readonly Regex Shape = new(
        "^(?<type>[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*)(?:::(?:(?<star>\\*)|\"(?<id>(?:[^\"\\\\]|\\\\.)*)\")|\\s+like\\s+\"(?<glob>(?:[^\"\\\\]|\\\\.)*)\")$",
        RegexOptions.CultureInvariant);

    /// <summary>Most wildcards a glob may hold (checked when a grant is made).</summary>
    public const int MaxGlobWildcards = 16;

    /// <summary>Longest glob, in characters (checked when a grant is made); with <see cref="MaxGlobWildcards"/> it bounds a match to a few microseconds per kilobyte of id.</summary>
    public const int MaxGlobLength = 256;

    private static readonly ConcurrentDictionary<string, WildcardPattern> GlobCache = new(StringComparer.Ordinal);

    /// <summary>The glob of a <c>like</c> pattern, as written (escapes kept); null otherwise.</summary>
    public string? Glob { get; init; }

    public bool Matches(string type, string id) =>
        (Type is null || string.Equals(Type, type, StringComparison.Ordinal)) &&
        (Id is null || string.Equals(Id, id, StringComparison.Ordinal)) &&
        (Glob is null || GlobMatches(Glob, id));

    /// <summary>Matches in time linear in the id (<see cref="WildcardPattern"/>: no regular expression, no backtracking, no timeout).</summary>
    public static bool GlobMatches(string glob, string id)
    {
        if (!GlobCache.TryGetValue(glob, out var pattern))
        {
            pattern = WildcardPattern.FromGlob(glob);
            if (GlobCache.Count < 10_000) GlobCache.TryAdd(glob, pattern);
        }
        return pattern.Matches(id);
    }

    /// <summary>Why a glob is too large to grant (naming <paramref name="field"/>), or null.</summary>
    public static string? GlobLimitProblem(string glob, string field)
    {
        if (glob.Length > MaxGlobLength) return $"{field}: the glob is longer than {MaxGlobLength} characters";
        var wildcards = WildcardPattern.FromGlob(glob).WildcardCount;
        return wildcards > MaxGlobWildcards ? $"{field}: the glob has {wildcards} wildcards; at most {MaxGlobWildcards} are allowed" : null;
    }

    /// <summary>The literal text before the first wildcard, and whether the glob is exactly that prefix followed by one final <c>*</c>.</summary>
    public static (string Prefix, bool IsPrefixGlob) LiteralPrefix(string glob)
    {
        var builder = new StringBuilder();
        for (var i = 0; i < glob.Length; i++)
        {
            var c = glob[i];
            if (c == '\\' && i + 1 < glob.Length)
            {
                builder.Append(Unescape("\\" + glob[++i]));
                continue;
            }
            if (c == '*') return (builder.ToString(), i == glob.Length - 1);
            builder.Append(c);
        }
        return (builder.ToString(), false);
    }

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
            error = $"resource pattern '{text}' must be '*', 'Type::*', 'Type::\"id\"' or 'Type like \"glob\"'";
            return false;
        }
        var type = match.Groups["type"].Value;
        if (match.Groups["glob"].Success)
        {
            pattern = new ResourcePattern(type, null) { Glob = match.Groups["glob"].Value };
            return true;
        }
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
