using RuntimeAuthz.Policy.Evaluation;
using RuntimeAuthz.Policy.Schema;

namespace RuntimeAuthz.Policy.Schema;

/// <summary>One problem found by <see cref="PolicyValidator"/>: its kind, where it is in the policy source, and how to fix it when that is known.</summary>
public sealed record ValidationIssue(string PolicyId, CedarErrorKind Kind, SourceSpan Span, string Message, string? Help = null)
{
    public int Line => Span.Line;
    public int Column => Span.Column;
}

/// <summary>
/// Checks policies against a schema, as a subset of Cedar's strict validation: unknown entity types
/// and actions (in the scope and in entity literals of conditions), scopes that no action's appliesTo
/// allows, and a type check of the conditions once per request environment (principal type, action,
/// resource type): undeclared attributes of entities, context and records, optional attributes and
/// tags read without a has/hasTag guard, operand types, tags,
/// empty set literals and extension calls (arity, string-literal argument, valid literal).
/// It never reports what Cedar accepts: code Cedar may consider unreachable is checked silently.
/// </summary>
public static class PolicyValidator
{
    public static IReadOnlyList<ValidationIssue> Validate(PolicySet policies, CedarSchema schema)
    {
        ArgumentNullException.ThrowIfNull(policies);
        ArgumentNullException.ThrowIfNull(schema);
        var issues = new List<ValidationIssue>();
        var model = new SchemaFacts(schema);
        foreach (var policy in policies.Policies)
        {
            if (policy.TemplateId != null) continue; // a link repeats its template's text and findings
            new PolicyCheck(policy, model, issues).Run();
        }
        return issues;
    }

    /// <summary>Precomputed hierarchy facts of a schema.</summary>
    private sealed class SchemaFacts
    {
        public SchemaFacts(CedarSchema schema)
        {
            Schema = schema;
            foreach (var type in schema.EntityTypeDefinitions)
                DescendantTypes[type.Name] = [type.Name];
            // T can be a descendant of P when P is reachable from T through memberOf.
            foreach (var type in schema.EntityTypeDefinitions)
            {
                var seen = new HashSet<string>(StringComparer.Ordinal);
                var stack = new Stack<string>(type.MemberOfTypes);
                while (stack.Count > 0)
                {
                    var parent = stack.Pop();
                    if (!seen.Add(parent)) continue;
                    if (DescendantTypes.TryGetValue(parent, out var set)) set.Add(type.Name);
                    if (schema.GetEntityType(parent) is { } p) foreach (var grand in p.MemberOfTypes) stack.Push(grand);
                }
            }
            foreach (var action in schema.ActionDefinitions)
            {
                var ancestors = new HashSet<EntityUid>();
                var stack = new Stack<EntityUid>(action.Parents);
                while (stack.Count > 0)
                {
                    var parent = stack.Pop();
                    if (!ancestors.Add(parent)) continue;
                    if (schema.GetAction(parent) is { } p) foreach (var grand in p.Parents) stack.Push(grand);
                }
                ActionAncestors[action.Uid] = ancestors;
            }
        }

        public CedarSchema Schema { get; }

        public ConditionChecker.Hierarchy Hierarchy => hierarchy ??= new(
            (type, ancestor) => DescendantTypes.TryGetValue(ancestor, out var descendants) ? descendants.Contains(type) : type == ancestor,
            (member, group) => member == group || (ActionAncestors.TryGetValue(member, out var groups) && groups.Contains(group)));

        private ConditionChecker.Hierarchy? hierarchy;
        public Dictionary<string, HashSet<string>> DescendantTypes { get; } = new(StringComparer.Ordinal);
        public Dictionary<EntityUid, HashSet<EntityUid>> ActionAncestors { get; } = new();
        public bool IsActionType(string type) => Schema.IsActionEntityType(type);
    }

    private sealed class PolicyCheck(Policy policy, SchemaFacts facts, List<ValidationIssue> issues)
    {
        private readonly CedarSchema _schema = facts.Schema;

        public void Run()
        {
            var nodes = policy.Conditions.SelectMany(c => Descendants(c.Body)).ToList();
            CheckEntityNames(nodes);

            bool scopeOk = true;
            var principalTypes = ScopeTypes(policy.Principal, "principal", ref scopeOk);
            var resourceTypes = ScopeTypes(policy.Resource, "resource", ref scopeOk);
            var actions = ScopeActions(ref scopeOk);

            var applicable = actions
                .Select(a => _schema.GetAction(a)!)
                .Where(a => a.PrincipalTypes.Any(t => principalTypes is null || principalTypes.Contains(t))
                         && a.ResourceTypes.Any(t => resourceTypes is null || resourceTypes.Contains(t)))
                .ToList();
            if (applicable.Count == 0)
            {
                if (scopeOk)
                    Report(new CedarError(CedarErrorKind.ImpossiblePolicy, policy.Span,
                        "the policy can never apply: no action in its scope applies to its principal and resource types", "see appliesTo in the schema"));
                return; // nothing is known about the variables' types
            }
            // Temporal blocks are checked against the event schema by the Dogwood checker, not here.
            if (policy.TemporalBlocks.Length == 0) CheckConditions(applicable, principalTypes, resourceTypes);
        }

        /// <summary>Every node under <paramref name="root"/>, itself included, in source order.</summary>
        private static IEnumerable<Expr> Descendants(Expr root)
        {
            var stack = new Stack<Expr>();
            stack.Push(root);
            while (stack.Count > 0)
            {
                var node = stack.Pop();
                yield return node;
                for (var i = node.Children.Count - 1; i >= 0; i--) stack.Push(node.Children[i]);
            }
        }

        // ---- scope ---------------------------------------------------------------------------

        /// <summary>Entity types the variable can have under the scope constraint; null = unconstrained.</summary>
        private HashSet<string>? ScopeTypes(ScopeConstraint scope, string variable, ref bool ok)
        {
            if (scope.IsSlot || scope.Kind == ScopeKind.Any) return null;
            if (scope.EntityType is { } isType && _schema.GetEntityType(isType) is null)
            {
                Report(CedarErrorKind.UnknownEntityType, scope.TypeSpan, $"unknown entity type '{isType}' in the {variable} scope");
                ok = false;
                return [];
            }
            HashSet<string>? types = scope.EntityType is { } t ? [t] : null;
            if (scope.Entity is { } entity)
            {
                if (_schema.GetEntityType(entity.Type) is null)
                {
                    Report(CedarErrorKind.UnknownEntityType, scope.EntitySpans.FirstOrDefault(SourceSpan.None), $"unknown entity type '{entity.Type}' in the {variable} scope");
                    ok = false;
                    return [];
                }
                var reachable = scope.Kind == ScopeKind.Equal
                    ? new HashSet<string>(StringComparer.Ordinal) { entity.Type }
                    : facts.DescendantTypes[entity.Type];
                types = types is null ? [.. reachable] : [.. types.Where(reachable.Contains)];
            }
            return types;
        }

        private List<EntityUid> ScopeActions(ref bool ok)
        {
            var scope = policy.Action;
            var all = _schema.Actions.ToList();
            if (scope.Kind == ScopeKind.Any) return all;
            var targets = scope.Kind == ScopeKind.InSet ? scope.Entities! : [scope.Entity!.Value];
            var result = new List<EntityUid>();
            for (var i = 0; i < targets.Length; i++)
            {
                var target = targets[i];
                if (_schema.GetAction(target) is null)
                {
                    Report(CedarErrorKind.UnknownAction, i < scope.EntitySpans.Count ? scope.EntitySpans[i] : SourceSpan.None, $"unknown action {target}");
                    ok = false;
                    continue;
                }
                if (scope.Kind == ScopeKind.Equal) result.Add(target);
                else result.AddRange(all.Where(a => a == target || facts.ActionAncestors[a].Contains(target)));
            }
            return result.Distinct().ToList();
        }

        // ---- conditions -------------------------------------------------------------------------

        /// <summary>Entity literals and type names anywhere in the conditions must be declared (checked even in unreachable code, as Cedar does).</summary>
        private void CheckEntityNames(List<Expr> nodes)
        {
            foreach (var node in nodes)
            {
                switch (node)
                {
                    case IsExpr { EntityType: var type } when _schema.GetEntityType(type) is null && !facts.IsActionType(type):
                        Report(CedarErrorKind.UnknownEntityType, ((IsExpr)node).TypeSpan, $"unknown entity type '{type}'");
                        break;
                    case LiteralExpr { Folded: null, Value: EntityValue { Uid: var uid } }:
                        if (facts.IsActionType(uid.Type) || uid.Type == "Action" || uid.Type.EndsWith("::Action", StringComparison.Ordinal))
                        {
                            if (_schema.GetAction(uid) is null) Report(CedarErrorKind.UnknownAction, node.Span, $"unknown action {uid}");
                        }
                        else if (_schema.GetEntityType(uid.Type) is null)
                        {
                            Report(CedarErrorKind.UnknownEntityType, node.Span, $"unknown entity type '{uid.Type}'");
                        }
                        break;
                }
            }
        }

        /// <summary>Type-checks the conditions once per request environment the policy applies to.</summary>
        private void CheckConditions(List<SchemaAction> applicable, HashSet<string>? principalTypes, HashSet<string>? resourceTypes)
        {
            if (policy.Conditions.Length == 0) return;
            var seen = new HashSet<(int, string)>();
            int environments = 0;
            foreach (var action in applicable)
            {
                foreach (var principal in action.PrincipalTypes.Where(t => principalTypes is null || principalTypes.Contains(t)))
                {
                    foreach (var resource in action.ResourceTypes.Where(t => resourceTypes is null || resourceTypes.Contains(t)))
                    {
                        if (++environments > MaxEnvironments) return;
                        var checker = new ConditionChecker(_schema, principal, action, resource, facts.Hierarchy, error =>
                        {
                            if (seen.Add((error.Span.Offset, error.Message))) Report(error);
                        });
                        checker.Check(policy.Conditions);
                    }
                }
            }
        }

        // Each environment is a full pass over the conditions; the product of types can be large.
        private const int MaxEnvironments = 64;

        // ---- reporting --------------------------------------------------------------------------

        private void Report(CedarErrorKind kind, SourceSpan span, string message) => Report(new CedarError(kind, span, message));

        private void Report(CedarError error) =>
            issues.Add(new ValidationIssue(policy.Id, error.Kind, error.Span.IsNone ? policy.Span : error.Span, error.Message, error.Help));
    }
}
