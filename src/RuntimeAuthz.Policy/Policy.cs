using RuntimeAuthz.Policy.Evaluation;

namespace RuntimeAuthz.Policy;

public enum PolicyEffect { Permit, Forbid }

internal enum ScopeKind { Any, Equal, In, Is, IsIn, InSet }

/// <summary>One of the three scope constraints of a policy (principal, action or resource).</summary>
internal sealed class ScopeConstraint
{
    public static readonly ScopeConstraint Any = new(ScopeKind.Any);

    public ScopeConstraint(ScopeKind kind, EntityUid? entity = null, string? entityType = null, EntityUid[]? entities = null, bool isSlot = false)
    {
        Kind = kind;
        Entity = entity;
        EntityType = entityType;
        Entities = entities;
        IsSlot = isSlot;
        Target = entity is { } e ? new EntityValue(e) : null;
        Targets = entities?.Select(t => new EntityValue(t)).ToArray();
    }

    public ScopeKind Kind { get; }
    public EntityUid? Entity { get; }
    public string? EntityType { get; }
    public EntityUid[]? Entities { get; }
    public bool IsSlot { get; }
    /// <summary>Where the entity type after <c>is</c> is written, for validation messages.</summary>
    public SourceSpan TypeSpan { get; init; } = SourceSpan.None;
    /// <summary>Where <see cref="Entity"/> (or each of <see cref="Entities"/>) is written.</summary>
    public IReadOnlyList<SourceSpan> EntitySpans { get; init; } = [];
    /// <summary>The entity as a value with its hash precomputed, for the hot path.</summary>
    public EntityValue? Target { get; }
    public EntityValue[]? Targets { get; }

    public bool Matches(EntityValue entity, AncestorSet ancestors) => Kind switch
    {
        ScopeKind.Any => true,
        ScopeKind.Equal => entity.SameAs(Target!),
        ScopeKind.In => entity.SameAs(Target!) || ancestors.Contains(Target!),
        ScopeKind.Is => string.Equals(entity.Uid.Type, EntityType, StringComparison.Ordinal),
        ScopeKind.IsIn => string.Equals(entity.Uid.Type, EntityType, StringComparison.Ordinal) && (entity.SameAs(Target!) || ancestors.Contains(Target!)),
        _ => MatchesAny(entity, ancestors),
    };

    private bool MatchesAny(EntityValue entity, AncestorSet ancestors)
    {
        foreach (var target in Targets!)
            if (entity.SameAs(target) || ancestors.Contains(target)) return true;
        return false;
    }

    public ScopeConstraint Link(EntityUid? value, string slotName)
    {
        if (!IsSlot) return this;
        if (value is null) throw new ArgumentException($"the template needs a value for {slotName}");
        return new ScopeConstraint(Kind, value, EntityType, Entities);
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
    /// <summary>Where the whole policy is, from its first annotation to its ';'.</summary>
    public SourceSpan Span { get; init; } = SourceSpan.None;
    public string Text { get; }
    /// <summary>For a linked policy, the id of its template.</summary>
    public string? TemplateId { get; }

    internal ScopeConstraint Principal { get; }
    internal ScopeConstraint Action { get; }
    internal ScopeConstraint Resource { get; }
    internal Condition[] Conditions { get; }
    /// <summary>The <c>temporal { … }</c> blocks in this policy's conditions (Dogwood policies only).</summary>
    internal Temporal.TemporalBlock[] TemporalBlocks { get; init; } = [];

    internal bool ScopeMatches(EvalEnv env) =>
        Principal.Matches(env.Principal, env.PrincipalAncestors)
        && Action.Matches(env.Action, env.ActionAncestors)
        && Resource.Matches(env.Resource, env.ResourceAncestors);

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
            Principal.Link(principal, "?principal"), Action, Resource.Link(resource, "?resource"), Conditions, Id)
        { TemporalBlocks = TemporalBlocks, Span = Span };

    public override string ToString() => $"{Id} ({Effect}) at {Line}:{Column}";
}
