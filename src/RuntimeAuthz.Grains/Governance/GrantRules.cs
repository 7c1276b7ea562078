using System.Collections.Concurrent;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Policy;

namespace RuntimeAuthz.Grains.Governance;

/// <summary>Configuration of delegation governance (section <c>Authz</c>).</summary>
public sealed class DelegationOptions
{
    public const string SectionName = "Authz";

    /// <summary>How many times authority may be handed on: a grant from a human has depth 0, each sub-delegation adds 1.</summary>
    public int MaxDelegationDepth { get; set; } = 3;

    /// <summary>Longest just-in-time elevation.</summary>
    public TimeSpan MaxElevationLifetime { get; set; } = TimeSpan.FromHours(1);
}

/// <summary>Attenuation and grant conditions: pure rules, shared by grant time and decision time.</summary>
public static class GrantRules
{
    public const string ConditionSourceName = "condition";
    public const int MaxConditionLength = 4096;

    /// <summary>The child's actions are all held by the parent.</summary>
    public static bool ActionsCovered(IReadOnlyList<string> child, IReadOnlyList<string> parent)
    {
        if (parent.Contains(DelegationScope.AnyAction, StringComparer.Ordinal)) return true;
        return child.All(a => a != DelegationScope.AnyAction && parent.Contains(a, StringComparer.Ordinal));
    }

    /// <summary>Every child resource pattern is contained in some parent pattern.</summary>
    public static bool ResourcesCovered(IReadOnlyList<string> child, IReadOnlyList<string> parent)
    {
        var parents = parent.Select(p => ResourcePattern.TryParse(p, out var parsed, out _) ? parsed : (ResourcePattern?)null).OfType<ResourcePattern>().ToArray();
        foreach (var text in child)
        {
            if (!ResourcePattern.TryParse(text, out var c, out _)) return false;
            if (!parents.Any(p => Contains(p, c))) return false;
        }
        return true;
    }

    /// <summary>
    /// Whether every resource the child pattern matches is matched by the parent. Conservative for
    /// two globs: equal globs, or a parent <c>prefix*</c> whose prefix starts the child's literal prefix.
    /// </summary>
    private static bool Contains(ResourcePattern parent, ResourcePattern child)
    {
        if (parent.Type is null) return true;
        if (child.Type is null || !string.Equals(parent.Type, child.Type, StringComparison.Ordinal)) return false;
        if (parent.Id is null && parent.Glob is null) return true;
        if (parent.Id is not null) return child.Id is not null && string.Equals(parent.Id, child.Id, StringComparison.Ordinal);
        var parentGlob = parent.Glob!;
        if (child.Id is not null) return ResourcePattern.GlobMatches(parentGlob, child.Id);
        if (child.Glob is null) return parentGlob == "*";
        if (string.Equals(parentGlob, child.Glob, StringComparison.Ordinal)) return true;
        var (parentPrefix, isPrefixGlob) = ResourcePattern.LiteralPrefix(parentGlob);
        return isPrefixGlob && ResourcePattern.LiteralPrefix(child.Glob).Prefix.StartsWith(parentPrefix, StringComparison.Ordinal);
    }

    /// <summary>Why <paramref name="child"/> asks for more than <paramref name="parent"/> holds, or null when it is a subset.</summary>
    public static string? AttenuationProblem(DelegationGrant child, Delegation parent, DateTimeOffset now)
    {
        if (!ActionsCovered(child.Actions, parent.Actions))
            return $"actions [{string.Join(", ", child.Actions)}] exceed the parent grant's actions [{string.Join(", ", parent.Actions)}]";
        if (!ResourcesCovered(child.Resources, parent.Resources))
            return $"resources [{string.Join(", ", child.Resources)}] exceed the parent grant's resources [{string.Join(", ", parent.Resources)}]";
        if (child.ExpiresAt > parent.ExpiresAt)
            return $"expiresAt ({child.ExpiresAt:O}) is later than the parent grant's expiry ({parent.ExpiresAt:O})";
        if (parent.SessionId is not null) return "a session elevation cannot be delegated further";
        return null;
    }

    private static readonly ConcurrentDictionary<string, CedarExpression> Compiled = new(StringComparer.Ordinal);

    /// <summary>Parses a grant condition; returns the located problem, or null when it is a valid Cedar expression.</summary>
    public static SourceIssue? CheckCondition(string condition)
    {
        if (condition.Length > MaxConditionLength)
            return new SourceIssue { Source = ConditionSourceName, Line = 1, Column = 1, Message = $"condition is longer than {MaxConditionLength} characters" };
        try
        {
            Compile(condition);
            return null;
        }
        catch (CedarSyntaxException ex)
        {
            return new SourceIssue { Source = ConditionSourceName, Line = ex.Line, Column = ex.Column, Message = ex.Detail };
        }
    }

    /// <summary>Whether every condition holds for the request; an evaluation error counts as not holding (fail closed).</summary>
    public static bool ConditionsHold(IEnumerable<string> conditions, AuthorizationRequest request, EntityStore entities)
    {
        foreach (var condition in conditions)
        {
            CedarExpression expression;
            try
            {
                expression = Compile(condition);
            }
            catch (CedarSyntaxException)
            {
                return false;
            }
            if (!expression.Holds(request, entities, out _)) return false;
        }
        return true;
    }

    private static CedarExpression Compile(string condition)
    {
        if (Compiled.TryGetValue(condition, out var expression)) return expression;
        expression = CedarExpression.Parse(condition, ConditionSourceName);
        if (Compiled.Count < 10_000) Compiled.TryAdd(condition, expression);
        return expression;
    }
}
