using RuntimeAuthz.Policy.Parsing;
using RuntimeAuthz.Policy.Schema;

namespace RuntimeAuthz.Policy;

/// <summary>One problem found by <see cref="PolicyValidator"/>; Line and Column point into the policy source.</summary>
public sealed record ValidationIssue(string PolicyId, int Line, int Column, string Message);

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
    /// <summary>Start of the message for a policy whose scope no action's appliesTo allows (Cedar itself only warns about these).</summary>
    public const string ImpossiblePolicyMessage = "the policy can never apply";

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
        public Dictionary<string, HashSet<string>> DescendantTypes { get; } = new(StringComparer.Ordinal);
        public Dictionary<EntityUid, HashSet<EntityUid>> ActionAncestors { get; } = new();
        public bool IsActionType(string type) => Schema.IsActionEntityType(type);
    }

    private sealed class PolicyCheck(Policy policy, SchemaFacts facts, List<ValidationIssue> issues)
    {
        private readonly CedarSchema _schema = facts.Schema;
        private List<Token> _tokens = [];

        public void Run()
        {
            try
            {
                _tokens = new Lexer(policy.Text, policy.Id).Tokenize();
            }
            catch (CedarSyntaxException)
            {
                return; // the policy parsed as part of its set, so this cannot happen; nothing to check
            }
            int conditionsStart = FindConditionsStart();
            CheckEntityNames(conditionsStart);

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
                    Report(policy.Line, policy.Column,
                        ImpossiblePolicyMessage + ": no action in its scope applies to its principal and resource types (see appliesTo in the schema)");
                return; // nothing is known about the variables' types
            }
            CheckConditions(conditionsStart, applicable, principalTypes, resourceTypes);
        }

        // ---- scope ---------------------------------------------------------------------------

        /// <summary>Entity types the variable can have under the scope constraint; null = unconstrained.</summary>
        private HashSet<string>? ScopeTypes(ScopeConstraint scope, string variable, ref bool ok)
        {
            if (scope.IsSlot || scope.Kind == ScopeKind.Any) return null;
            if (scope.EntityType is { } isType && _schema.GetEntityType(isType) is null)
            {
                ReportAtToken(variable, isType, $"unknown entity type '{isType}' in the {variable} scope");
                ok = false;
                return [];
            }
            HashSet<string>? types = scope.EntityType is { } t ? [t] : null;
            if (scope.Entity is { } entity)
            {
                if (_schema.GetEntityType(entity.Type) is null)
                {
                    ReportAtToken(variable, entity.Type, $"unknown entity type '{entity.Type}' in the {variable} scope");
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
            foreach (var target in targets)
            {
                if (_schema.GetAction(target) is null)
                {
                    ReportAtToken("action", target.Id, $"unknown action {target}", quoted: true);
                    ok = false;
                    continue;
                }
                if (scope.Kind == ScopeKind.Equal) result.Add(target);
                else result.AddRange(all.Where(a => a == target || facts.ActionAncestors[a].Contains(target)));
            }
            return result.Distinct().ToList();
        }

        // ---- conditions -------------------------------------------------------------------------

        private int FindConditionsStart()
        {
            // Skip the annotations, then the scope is the parenthesised group after permit/forbid.
            int i = _tokens.FindIndex(t => t is { Kind: TokenKind.Identifier, Text: "permit" or "forbid" });
            if (i < 0) return _tokens.Count;
            int depth = 0;
            for (; i < _tokens.Count; i++)
            {
                if (_tokens[i].Kind == TokenKind.LeftParen) depth++;
                else if (_tokens[i].Kind == TokenKind.RightParen && --depth == 0) return i + 1;
            }
            return _tokens.Count;
        }

        /// <summary>Entity literals and type names anywhere in the conditions must be declared (checked even in unreachable code, as Cedar does).</summary>
        private void CheckEntityNames(int start)
        {
            for (int i = start; i < _tokens.Count; i++)
            {
                var token = _tokens[i];
                if (token.Kind != TokenKind.Identifier || (i > 0 && _tokens[i - 1].Kind == TokenKind.Dot)) continue;
                if (i > 0 && _tokens[i - 1] is { Kind: TokenKind.Identifier, Text: "is" })
                    i = CheckTypeName(i);
                else if (Peek(i + 1) == TokenKind.DoubleColon)
                    i = CheckEntityLiteral(i);
            }
        }

        /// <summary>Type-checks the conditions once per request environment the policy applies to.</summary>
        private void CheckConditions(int start, List<SchemaAction> applicable, HashSet<string>? principalTypes, HashSet<string>? resourceTypes)
        {
            var conditions = new ConditionReader(_tokens).ReadConditions(start);
            if (conditions is null || conditions.Count == 0) return;
            var seen = new HashSet<(int, string)>();
            // Guards on expressions other than variable/attribute paths cannot be matched; then only a policy without any guard is judged.
            bool testsAttributes = _tokens.Skip(start).Any(t => t is { Kind: TokenKind.Identifier, Text: "has" });
            bool testsTags = _tokens.Skip(start).Any(t => t is { Kind: TokenKind.Identifier, Text: "hasTag" });
            int environments = 0;
            foreach (var action in applicable)
            {
                foreach (var principal in action.PrincipalTypes.Where(t => principalTypes is null || principalTypes.Contains(t)))
                {
                    foreach (var resource in action.ResourceTypes.Where(t => resourceTypes is null || resourceTypes.Contains(t)))
                    {
                        if (++environments > MaxEnvironments) return;
                        var checker = new ConditionChecker(_schema, principal, action, resource, testsAttributes, testsTags, (token, message) =>
                        {
                            if (seen.Add((token, message))) Report(_tokens[token], message);
                        });
                        checker.Check(conditions);
                    }
                }
            }
        }

        // Each environment is a full pass over the conditions; the product of types can be large.
        private const int MaxEnvironments = 64;

        private TokenKind? Peek(int i) => i < _tokens.Count ? _tokens[i].Kind : null;

        /// <summary>Checks the entity type name after <c>is</c>; returns the index of its last token.</summary>
        private int CheckTypeName(int i)
        {
            var parts = new List<string> { _tokens[i].Text };
            int j = i;
            while (Peek(j + 1) == TokenKind.DoubleColon && j + 2 < _tokens.Count && _tokens[j + 2].Kind == TokenKind.Identifier)
            {
                parts.Add(_tokens[j + 2].Text);
                j += 2;
            }
            string type = string.Join("::", parts);
            if (_schema.GetEntityType(type) is null && !facts.IsActionType(type)) Report(_tokens[i], $"unknown entity type '{type}'");
            return j;
        }

        /// <summary>Checks <c>A::B::"id"</c>; returns the index of its last token.</summary>
        private int CheckEntityLiteral(int i)
        {
            var parts = new List<string> { _tokens[i].Text };
            int j = i + 1;
            while (Peek(j) == TokenKind.DoubleColon && j + 1 < _tokens.Count)
            {
                var next = _tokens[j + 1];
                if (next.Kind == TokenKind.Identifier) { parts.Add(next.Text); j += 2; continue; }
                if (next.Kind == TokenKind.String)
                {
                    string type = string.Join("::", parts);
                    string id = Lexer.Unescape(next.Text, false, null, (_, detail) => new InvalidOperationException(detail));
                    if (facts.IsActionType(type) || type == "Action" || type.EndsWith("::Action", StringComparison.Ordinal))
                    {
                        if (_schema.GetAction(new EntityUid(type, id)) is null) Report(_tokens[i], $"unknown action {new EntityUid(type, id)}");
                    }
                    else if (_schema.GetEntityType(type) is null)
                    {
                        Report(_tokens[i], $"unknown entity type '{type}'");
                    }
                    return j + 1;
                }
                break; // a function path such as ip(...) has no string after '::'
            }
            return j - 1;
        }

        // ---- reporting --------------------------------------------------------------------------

        private void ReportAtToken(string variable, string text, string message, bool quoted = false)
        {
            // Scope constraints carry no positions; point at the first mention after the variable in the scope.
            bool inVariable = false;
            foreach (var token in _tokens)
            {
                if (token.Kind == TokenKind.LeftBrace) break;
                if (token.Kind == TokenKind.Identifier && token.Text == variable) { inVariable = true; continue; }
                if (!inVariable) continue;
                bool match = quoted
                    ? token.Kind == TokenKind.String && Lexer.Unescape(token.Text, false, null, (_, d) => new InvalidOperationException(d)) == text
                    : token.Kind == TokenKind.Identifier && (token.Text == text || text.StartsWith(token.Text + "::", StringComparison.Ordinal));
                if (match) { Report(token, message); return; }
            }
            Report(policy.Line, policy.Column, message);
        }

        private void Report(Token token, string message)
        {
            // Token positions are relative to the policy text, which starts at policy.Line:policy.Column.
            int line = policy.Line + token.Line - 1;
            int column = token.Line == 1 ? policy.Column + token.Column - 1 : token.Column;
            Report(line, column, message);
        }

        private void Report(int line, int column, string message) => issues.Add(new ValidationIssue(policy.Id, line, column, message));
    }
}
