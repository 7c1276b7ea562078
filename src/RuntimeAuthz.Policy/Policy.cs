using RuntimeAuthz.Policy.Evaluation;

namespace RuntimeAuthz.Policy;

public enum PolicyEffect { Permit, Forbid }

internal enum ScopeKind { Any, Equal, In, Is, IsIn, InSet }

/// <summary>One of the three scope constraints of a policy (principal, action or resource).</summary>
internal sealed record ScopeConstraint(ScopeKind Kind, EntityUid? Entity = null, string? EntityType = null, EntityUid[]? Entities = null, bool IsSlot = false)
{
    public static readonly ScopeConstraint Any = new(ScopeKind.Any);

    public bool Matches(EntityUid uid, EntityStore entities) => Kind switch
    {
        ScopeKind.Any => true,
        ScopeKind.Equal => uid == Entity,
        ScopeKind.In => entities.IsDescendantOrSelf(uid, Entity!.Value),
        ScopeKind.Is => string.Equals(uid.Type, EntityType, StringComparison.Ordinal),
        ScopeKind.IsIn => string.Equals(uid.Type, EntityType, StringComparison.Ordinal) && entities.IsDescendantOrSelf(uid, Entity!.Value),
        _ => MatchesAny(uid, entities),
    };

    private bool MatchesAny(EntityUid uid, EntityStore entities)
    {
        foreach (var target in Entities!)
            if (entities.IsDescendantOrSelf(uid, target)) return true;
        return false;
    }

    public ScopeConstraint Link(EntityUid? value, string slotName)
    {
        if (!IsSlot) return this;
        if (value is null) throw new ArgumentException($"the template needs a value for {slotName}");
        return this with { Entity = value, IsSlot = false };
    }
}

/// <summary>A <c>when</c> or <c>unless</c> clause.</summary>
internal sealed record Condition(bool IsWhen, Expr Body);

/// <summary>A parsed policy or template, compiled for evaluation.</summary>
public sealed class Policy
{
    internal Policy(string id, PolicyEffect effect, IReadOnlyDictionary<string, string> annotations, int line, int column, string text,
        ScopeConstraint principal, ScopeConstraint action, ScopeConstraint resource, Condition[] conditions, string? templateId = null)
    {
        Id = id;
        Effect = effect;
        Annotations = annotations;
        Line = line;
        Column = column;
        Text = text;
        Principal = principal;
        Action = action;
        Resource = resource;
        Conditions = conditions;
        TemplateId = templateId;
    }

    public string Id { get; }
    public PolicyEffect Effect { get; }
    /// <summary>Annotations such as <c>@id("...")</c>; the value is "" when the annotation has none.</summary>
    public IReadOnlyDictionary<string, string> Annotations { get; }
    /// <summary>True for a template (it has <c>?principal</c> or <c>?resource</c> slots and is only used through links).</summary>
    public bool IsTemplate => Principal.IsSlot || Resource.IsSlot;
    public int Line { get; }
    public int Column { get; }
    public string Text { get; }
    /// <summary>For a linked policy, the id of its template.</summary>
    public string? TemplateId { get; }

    internal ScopeConstraint Principal { get; }
    internal ScopeConstraint Action { get; }
    internal ScopeConstraint Resource { get; }
    internal Condition[] Conditions { get; }

    internal bool ScopeMatches(EvalEnv env) =>
        Principal.Matches(env.Principal.Uid, env.Entities)
        && Action.Matches(env.Action.Uid, env.Entities)
        && Resource.Matches(env.Resource.Uid, env.Entities);

    /// <summary>Whether the conditions hold; throws <see cref="EvaluationException"/> when evaluation errs.</summary>
    internal bool ConditionsHold(EvalEnv env)
    {
        foreach (var condition in Conditions)
        {
            if (condition.Body.EvalBool(env) != condition.IsWhen) return false;
        }
        return true;
    }

    internal Policy Link(string newId, EntityUid? principal, EntityUid? resource) =>
        new(newId, Effect, Annotations, Line, Column, Text,
            Principal.Link(principal, "?principal"), Action, Resource.Link(resource, "?resource"), Conditions, Id);

    public override string ToString() => $"{Id} ({Effect}) at {Line}:{Column}";
}
