using RuntimeAuthz.Policy.Parsing;
using RuntimeAuthz.Policy.Schema;

namespace RuntimeAuthz.Policy;

/// <summary>One problem found by <see cref="PolicyValidator"/>; Line and Column point into the policy source.</summary>
public sealed record ValidationIssue(string PolicyId, int Line, int Column, string Message);

/// <summary>
/// Checks policies against a schema: unknown entity types and actions (in the scope and in entity
/// literals of conditions), scopes that no action's appliesTo allows, attributes that no possible
/// principal/resource type or context declares, and basic operand types of attribute accesses
/// (e.g. <c>like</c> on a non-string, arithmetic on a non-Long, set methods on a non-set).
/// Conditions are checked on their tokens, following attribute chains
/// (<c>principal.manager.name</c>, <c>context.input["amount"]</c>) through the schema's types.
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
                        "the policy can never apply: no action in its scope applies to its principal and resource types (see appliesTo in the schema)");
                return; // nothing is known about the variables' types
            }
            var principals = applicable.SelectMany(a => a.PrincipalTypes).Where(t => principalTypes is null || principalTypes.Contains(t)).ToHashSet(StringComparer.Ordinal);
            var resources = applicable.SelectMany(a => a.ResourceTypes).Where(t => resourceTypes is null || resourceTypes.Contains(t)).ToHashSet(StringComparer.Ordinal);
            var contexts = applicable.Select(a => (SchemaType)a.Context).Distinct().ToList();
            CheckConditions(conditionsStart, principals, resources, contexts);
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
            // The scope is the first parenthesised group; conditions follow its closing parenthesis.
            int depth = 0;
            for (int i = 0; i < _tokens.Count; i++)
            {
                if (_tokens[i].Kind == TokenKind.LeftParen) depth++;
                else if (_tokens[i].Kind == TokenKind.RightParen && --depth == 0) return i + 1;
            }
            return _tokens.Count;
        }

        private void CheckConditions(int start, HashSet<string> principals, HashSet<string> resources, List<SchemaType> contexts)
        {
            for (int i = start; i < _tokens.Count; i++)
            {
                var token = _tokens[i];
                if (token.Kind != TokenKind.Identifier) continue;
                bool afterDot = i > 0 && _tokens[i - 1].Kind == TokenKind.Dot;
                if (afterDot) continue;
                if (i > 0 && _tokens[i - 1] is { Kind: TokenKind.Identifier, Text: "is" })
                {
                    i = CheckTypeName(i);
                    continue;
                }
                if (IsAfterHasOrIs(i)) continue;
                if (Peek(i + 1) == TokenKind.DoubleColon)
                {
                    i = CheckEntityLiteral(i);
                    continue;
                }
                IReadOnlyCollection<SchemaType>? start0 = token.Text switch
                {
                    "principal" => principals.Select(t => (SchemaType)new EntitySchemaType(t)).ToList(),
                    "resource" => resources.Select(t => (SchemaType)new EntitySchemaType(t)).ToList(),
                    "context" => contexts,
                    _ => null,
                };
                if (start0 is null) continue;
                i = FollowChain(i, start0);
            }
        }

        private bool IsAfterHasOrIs(int i) =>
            i > 0 && _tokens[i - 1].Kind == TokenKind.Identifier && _tokens[i - 1].Text is "has" or "is" or "like";

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

        /// <summary>Follows <c>var.a.b["c"]</c> through the schema; returns the index of the chain's last token.</summary>
        private int FollowChain(int i, IReadOnlyCollection<SchemaType> types)
        {
            int last = i;
            var current = types;
            while (true)
            {
                string? attribute = null;
                Token attributeToken = default;
                int next = last;
                if (Peek(last + 1) == TokenKind.Dot && last + 2 < _tokens.Count && _tokens[last + 2].Kind == TokenKind.Identifier
                    && Peek(last + 3) != TokenKind.LeftParen)
                {
                    attributeToken = _tokens[last + 2];
                    attribute = attributeToken.Text;
                    next = last + 2;
                }
                else if (Peek(last + 1) == TokenKind.LeftBracket && last + 3 < _tokens.Count && _tokens[last + 2].Kind == TokenKind.String
                         && _tokens[last + 3].Kind == TokenKind.RightBracket)
                {
                    attributeToken = _tokens[last + 2];
                    attribute = Lexer.Unescape(attributeToken.Text, false, null, (_, detail) => new InvalidOperationException(detail));
                    next = last + 3;
                }
                if (attribute is null) break;

                var found = new List<SchemaType>();
                bool anyRecordLike = false;
                foreach (var type in current)
                {
                    var record = RecordOf(type);
                    if (record is null) continue;
                    anyRecordLike = true;
                    if (record.Attributes.TryGetValue(attribute, out var declared)) found.Add(declared.Type);
                }
                if (anyRecordLike && found.Count == 0)
                {
                    string owners = string.Join(", ", current.Select(Describe).Distinct().Order(StringComparer.Ordinal));
                    Report(attributeToken, $"attribute '{attribute}' is not declared for {owners}");
                    return next;
                }
                current = found.Distinct().ToList();
                last = next;
                if (current.Count == 0) return last;
            }
            CheckOperandUse(i, last, current);
            return last;
        }

        private RecordSchemaType? RecordOf(SchemaType type) => type switch
        {
            RecordSchemaType r => r,
            EntitySchemaType e => _schema.GetEntityType(e.EntityTypeName) is { } definition
                ? (definition.EnumIds is null ? definition.Attributes : RecordSchemaType.Empty)
                : null,
            _ => null,
        };

        private static string Describe(SchemaType type) => type switch
        {
            EntitySchemaType e => $"entity type '{e.EntityTypeName}'",
            RecordSchemaType => "the record (context or attribute) it is read from",
            _ => type.ToString(),
        };

        /// <summary>What follows an attribute value must fit its declared type.</summary>
        /// <summary>
        /// Operators bind by precedence, so the value is the whole left operand of the next binary
        /// operator only when the token before the chain binds more loosely than that operator.
        /// </summary>
        private bool IsWholeLeftOperand(int chainStart, TokenKind next)
        {
            if (chainStart == 0) return true;
            var previous = _tokens[chainStart - 1];
            bool separator = previous.Kind is TokenKind.LeftBrace or TokenKind.LeftParen or TokenKind.LeftBracket or TokenKind.Comma
                or TokenKind.And or TokenKind.Or
                || previous is { Kind: TokenKind.Identifier, Text: "if" or "then" or "else" };
            if (separator) return true;
            bool relational = previous.Kind is TokenKind.Less or TokenKind.LessEqual or TokenKind.Greater or TokenKind.GreaterEqual
                or TokenKind.Equal or TokenKind.NotEqual;
            return next switch
            {
                TokenKind.Plus or TokenKind.Minus => relational,
                TokenKind.Star => relational || previous.Kind is TokenKind.Plus or TokenKind.Minus,
                _ => false,
            };
        }

        private void CheckOperandUse(int chainStart, int last, IReadOnlyCollection<SchemaType> types)
        {
            if (types.Count != 1 || last + 1 >= _tokens.Count) return;
            var type = types.First();
            var next = _tokens[last + 1];
            string? expected = null;
            bool wholeOperand = IsWholeLeftOperand(chainStart, next.Kind);
            switch (next.Kind)
            {
                case TokenKind.Plus or TokenKind.Minus or TokenKind.Star when wholeOperand:
                    if (type != PrimitiveSchemaType.Long) expected = "Long";
                    break;
                case TokenKind.Less or TokenKind.LessEqual or TokenKind.Greater or TokenKind.GreaterEqual when wholeOperand:
                    if (type != PrimitiveSchemaType.Long && type is not ExtensionSchemaType { Name: "datetime" or "duration" }) expected = "Long, datetime or duration";
                    break;
                case TokenKind.And or TokenKind.Or when wholeOperand:
                    if (type != PrimitiveSchemaType.Bool) expected = "Bool";
                    break;
                case TokenKind.Identifier when next.Text == "like" && wholeOperand:
                    if (type != PrimitiveSchemaType.String) expected = "String";
                    break;
                case TokenKind.Identifier when next.Text == "in" && wholeOperand:
                    if (type is not EntitySchemaType) expected = "an entity";
                    break;
                case TokenKind.Dot when last + 2 < _tokens.Count && Peek(last + 3) == TokenKind.LeftParen:
                    expected = _tokens[last + 2].Text switch
                    {
                        "contains" or "containsAll" or "containsAny" or "isEmpty" when type is not SetSchemaType => "Set",
                        "lessThan" or "lessThanOrEqual" or "greaterThan" or "greaterThanOrEqual" when type is not ExtensionSchemaType { Name: "decimal" } => "decimal",
                        "isIpv4" or "isIpv6" or "isLoopback" or "isMulticast" or "isInRange" when type is not ExtensionSchemaType { Name: "ipaddr" } => "ipaddr",
                        "hasTag" or "getTag" when type is not EntitySchemaType => "an entity",
                        _ => null,
                    };
                    if (expected is null && _tokens[last + 2].Text == "getTag" && type is EntitySchemaType e
                        && _schema.GetEntityType(e.EntityTypeName) is { Tags: null })
                    {
                        Report(_tokens[last + 2], $"entity type '{e.EntityTypeName}' has no tags");
                    }
                    if (expected != null) next = _tokens[last + 2];
                    break;
            }
            if (expected != null) Report(next, $"type mismatch: '{next.Text}' needs {expected}, but the attribute is declared as {type}");
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
