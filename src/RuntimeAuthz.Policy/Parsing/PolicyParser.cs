using System.Globalization;
using RuntimeAuthz.Policy.Evaluation;

namespace RuntimeAuthz.Policy.Parsing;

/// <summary>
/// Recursive-descent parser for Cedar policies. It builds the evaluation tree directly, folding
/// constant sub-expressions, so a policy is compiled exactly once.
/// </summary>
internal sealed class PolicyParser : TokenParser
{
    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal) { "true", "false", "if", "then", "else", "in", "is", "like", "has", "__cedar" };

    private readonly string text;
    // Dogwood: `temporal { … }` blocks are accepted only when parsing a .dw set.
    private readonly bool allowTemporal;
    private List<Temporal.TemporalBlock>? temporalBlocks;

    private PolicyParser(string text, string sourceName, bool allowTemporal)
        : this(new Lexer(text, sourceName).Tokenize(), text, sourceName, allowTemporal)
    {
    }

    private PolicyParser(List<Token> tokens, string text, string sourceName, bool allowTemporal)
        : base(tokens, 0, sourceName)
    {
        this.text = text;
        this.allowTemporal = allowTemporal;
    }

    public static List<Policy> ParsePolicies(string text, string sourceName, bool allowTemporal = false)
    {
        var parser = new PolicyParser(text, sourceName, allowTemporal);
        var policies = new List<Policy>();
        var errors = new List<CedarError>();
        var count = 0;
        while (parser.Current.Kind != TokenKind.EndOfInput)
        {
            var start = parser.index;
            try
            {
                policies.Add(parser.ParsePolicy($"policy{count}"));
            }
            catch (CedarSyntaxException e)
            {
                errors.AddRange(e.Errors);
                parser.SkipToNextPolicy(start);
            }
            count++;
        }
        if (errors.Count > 0) throw new CedarSyntaxException(errors);
        return policies;
    }

    /// <summary>
    /// After an error, moves past the broken policy: to just after the next ';', or to the next
    /// token that can only start a policy (an annotation or 'permit'/'forbid' before '('), so the
    /// policies after it are still parsed and their errors reported too.
    /// </summary>
    private void SkipToNextPolicy(int policyStart)
    {
        nesting = 0;
        temporalBlocks = null;
        if (index == policyStart) Advance();
        while (Current.Kind != TokenKind.EndOfInput)
        {
            if (Current.Kind == TokenKind.Semicolon)
            {
                Advance();
                return;
            }
            if (index > policyStart && StartsPolicy()) return;
            Advance();
        }
    }

    private bool StartsPolicy() =>
        (Current.Kind == TokenKind.At && Peek().Kind == TokenKind.Identifier)
        || (Current is { Kind: TokenKind.Identifier, Text: "permit" or "forbid" } && Peek().Kind == TokenKind.LeftParen);

    /// <summary>Parses one expression that must make up the whole text (positions from <paramref name="line"/>:<paramref name="column"/>).</summary>
    public static Expr ParseExpression(string text, string sourceName, int line, int column)
    {
        var parser = new PolicyParser(new Lexer(text, sourceName, line, column).Tokenize(), text, sourceName, allowTemporal: false);
        var expr = parser.ParseExpr();
        if (parser.Current.Kind != TokenKind.EndOfInput)
            throw parser.Error(parser.Current, $"unexpected {parser.Current.Describe()} after the end of the expression");
        return expr;
    }

    // ---- policies ------------------------------------------------------------------------

    private Policy ParsePolicy(string id)
    {
        var start = Current;
        var annotations = new Dictionary<string, string>(StringComparer.Ordinal);
        while (Current.Kind == TokenKind.At)
        {
            Advance();
            var key = Expect(TokenKind.Identifier, "an annotation name", "after '@'");
            var value = "";
            if (Current.Kind == TokenKind.LeftParen)
            {
                Advance();
                value = UnescapeString(Expect(TokenKind.String, "a string", $"as the value of annotation '@{key.Text}'"));
                Expect(TokenKind.RightParen, "')'", $"after the value of annotation '@{key.Text}'");
            }
            if (!annotations.TryAdd(key.Text, value)) throw Error(key, CedarErrorKind.DuplicateAnnotation, $"duplicate annotation '@{key.Text}'");
        }
        var effectToken = Current;
        PolicyEffect effect;
        if (IsKeyword("permit")) effect = PolicyEffect.Permit;
        else if (IsKeyword("forbid")) effect = PolicyEffect.Forbid;
        else throw Error(Current, $"expected 'permit' or 'forbid' to start a policy, found {Current.Describe()}");
        Advance();
        Expect(TokenKind.LeftParen, "'('", $"after '{effectToken.Text}'");
        var principal = ParsePrincipalOrResource("principal");
        Expect(TokenKind.Comma, "','", "after the principal constraint");
        var action = ParseAction();
        Expect(TokenKind.Comma, "','", "after the action constraint");
        var resource = ParsePrincipalOrResource("resource");
        if (Current.Kind == TokenKind.Comma && Peek().Kind == TokenKind.RightParen) Advance();
        Expect(TokenKind.RightParen, "')'", "after the resource constraint");
        var conditions = new List<Condition>();
        while (IsKeyword("when") || IsKeyword("unless"))
        {
            var isWhen = Current.Text == "when";
            var keyword = Advance();
            if (allowTemporal && IsKeyword("temporal") && Peek().Kind == TokenKind.LeftBrace)
            {
                conditions.Add(new Condition(isWhen, ParseTemporalBlock()));
                continue;
            }
            Expect(TokenKind.LeftBrace, "'{'", $"after '{keyword.Text}'");
            if (Current.Kind == TokenKind.RightBrace) throw Error(Current, CedarErrorKind.EmptyCondition, $"the '{keyword.Text}' clause is empty: expected an expression");
            var body = ParseExpr();
            Expect(TokenKind.RightBrace, "'}'", $"to close the '{keyword.Text}' clause");
            conditions.Add(new Condition(isWhen, body));
        }
        var end = Current;
        if (end.Kind != TokenKind.Semicolon)
        {
            var help = end.Kind == TokenKind.At || end is { Kind: TokenKind.Identifier, Text: "permit" or "forbid" }
                ? "is the ';' after the previous policy missing?"
                : end.Kind == TokenKind.Identifier ? "conditions start with 'when' or 'unless'" : null;
            throw Error(end, CedarErrorKind.UnexpectedToken, $"expected ';' at the end of the policy, found {end.Describe()}", help);
        }
        Advance();
        var policyText = text[start.Offset..(end.Offset + 1)];
        var blocks = temporalBlocks is null ? [] : temporalBlocks.ToArray();
        temporalBlocks = null;
        return new Policy(id, effect, annotations, start.Line, start.Column, policyText, principal, action, resource, [.. conditions])
        { TemporalBlocks = blocks, Span = SpanFrom(start) };
    }

    private Expr ParseTemporalBlock()
    {
        var (block, next) = Temporal.TemporalParser.ParseBlock(tokens, index, sourceName);
        index = next;
        (temporalBlocks ??= []).Add(block);
        return new Temporal.TemporalExpr(block);
    }

    private ScopeConstraint ParsePrincipalOrResource(string variable)
    {
        if (!IsKeyword(variable))
        {
            throw Error(Current, $"expected '{variable}' in the policy scope, found {Current.Describe()}");
        }
        Advance();
        if (Current.Kind == TokenKind.Equal)
        {
            Advance();
            return EntityOrSlot(variable, ScopeKind.Equal, null);
        }
        if (IsKeyword("is"))
        {
            Advance();
            var typeStart = Current;
            var type = ParsePath($"after '{variable} is'");
            var typeSpan = SpanFrom(typeStart);
            if (IsKeyword("in"))
            {
                Advance();
                return EntityOrSlot(variable, ScopeKind.IsIn, type, typeSpan);
            }
            return new ScopeConstraint(ScopeKind.Is, entityType: type) { TypeSpan = typeSpan };
        }
        if (IsKeyword("in"))
        {
            Advance();
            return EntityOrSlot(variable, ScopeKind.In, null);
        }
        return ScopeConstraint.Any;
    }

    private ScopeConstraint EntityOrSlot(string variable, ScopeKind kind, string? type, SourceSpan? typeSpan = null)
    {
        if (Current.Kind == TokenKind.Question)
        {
            var question = Advance();
            var name = Expect(TokenKind.Identifier, "a slot name", "after '?'");
            if (name.Text != variable) throw Error(question, CedarErrorKind.MisplacedSlot, $"the slot '?{name.Text}' cannot be used in the {variable} constraint (expected '?{variable}')");
            return new ScopeConstraint(kind, entityType: type, isSlot: true) { TypeSpan = typeSpan ?? SourceSpan.None };
        }
        var start = Current;
        var entity = ParseEntityReference($"in the {variable} constraint");
        return new ScopeConstraint(kind, entity, type) { TypeSpan = typeSpan ?? SourceSpan.None, EntitySpans = [SpanFrom(start)] };
    }

    private ScopeConstraint ParseAction()
    {
        if (!IsKeyword("action")) throw Error(Current, $"expected 'action' in the policy scope, found {Current.Describe()}");
        Advance();
        if (Current.Kind == TokenKind.Equal)
        {
            Advance();
            var start = Current;
            var entity = ParseActionReference("in the action constraint");
            return new ScopeConstraint(ScopeKind.Equal, entity) { EntitySpans = [SpanFrom(start)] };
        }
        if (IsKeyword("is")) throw Error(Current, "'is' is not allowed in the action constraint");
        if (IsKeyword("in"))
        {
            Advance();
            if (Current.Kind == TokenKind.LeftBracket)
            {
                Advance();
                var entities = new List<EntityUid>();
                var spans = new List<SourceSpan>();
                while (Current.Kind != TokenKind.RightBracket)
                {
                    var start = Current;
                    entities.Add(ParseActionReference("in the action list"));
                    spans.Add(SpanFrom(start));
                    if (Current.Kind == TokenKind.Comma) Advance();
                    else if (Current.Kind != TokenKind.RightBracket)
                        throw Error(Current, $"expected ',' or ']' in the action list, found {Current.Describe()}");
                }
                Advance();
                return new ScopeConstraint(ScopeKind.InSet, entities: [.. entities]) { EntitySpans = spans };
            }
            var first = Current;
            var parent = ParseActionReference("in the action constraint");
            return new ScopeConstraint(ScopeKind.In, parent) { EntitySpans = [SpanFrom(first)] };
        }
        return ScopeConstraint.Any;
    }

    private EntityUid ParseActionReference(string context)
    {
        var at = Current;
        var uid = ParseEntityReference(context);
        if (uid.Type != "Action" && !uid.Type.EndsWith("::Action", StringComparison.Ordinal))
            throw Error(at, CedarErrorKind.NotAnAction, $"expected an action entity (type 'Action' or 'Namespace::Action') {context}, found {uid}");
        return uid;
    }

    private EntityUid ParseEntityReference(string context)
    {
        if (Current.Kind == TokenKind.Question) throw Error(Current, CedarErrorKind.MisplacedSlot, $"a template slot is not allowed {context}");
        if (Current.Kind != TokenKind.Identifier) throw Error(Current, $"expected an entity like Type::\"id\" {context}, found {Current.Describe()}");
        var parts = new List<string>();
        while (true)
        {
            var name = Expect(TokenKind.Identifier, "a type name", context);
            CheckNotReserved(name);
            parts.Add(name.Text);
            Expect(TokenKind.DoubleColon, "'::'", $"after '{string.Join("::", parts)}' {context}");
            if (Current.Kind == TokenKind.String) break;
            if (Current.Kind != TokenKind.Identifier) throw Error(Current, $"expected an entity id string after '{string.Join("::", parts)}::', found {Current.Describe()}");
        }
        return new EntityUid(string.Join("::", parts), UnescapeString(Advance()));
    }

    private string ParsePath(string context)
    {
        var parts = new List<string>();
        var name = Expect(TokenKind.Identifier, "an entity type name", context);
        CheckNotReserved(name);
        parts.Add(name.Text);
        while (Current.Kind == TokenKind.DoubleColon && Peek().Kind == TokenKind.Identifier)
        {
            Advance();
            var next = Advance();
            CheckNotReserved(next);
            parts.Add(next.Text);
        }
        return string.Join("::", parts);
    }

    private void CheckNotReserved(Token name)
    {
        if (Reserved.Contains(name.Text)) throw Error(name, CedarErrorKind.ReservedWord, $"'{name.Text}' is a reserved word and cannot be used as a name here");
    }

    // ---- expressions ---------------------------------------------------------------------

    // Bounds that keep parsing and evaluation far from the thread's stack limit on hostile input.
    private const int MaxNesting = 200;
    private const int MaxTreeDepth = 1000;
    private int nesting;

    private Expr ParseExpr()
    {
        var start = Current;
        if (++nesting > MaxNesting)
            throw Error(start, CedarErrorKind.TooDeep, $"expression nested too deeply (more than {MaxNesting} levels of parentheses, brackets or calls)");
        try
        {
            var expr = ParseExprUnbounded();
            if (expr.Depth > MaxTreeDepth)
                throw Error(start, CedarErrorKind.TooDeep, $"expression too large: more than {MaxTreeDepth} operators deep; split it into several conditions or policies");
            return expr;
        }
        finally
        {
            nesting--;
        }
    }

    private Expr ParseExprUnbounded()
    {
        if (IsKeyword("if"))
        {
            var start = Advance();
            var condition = ParseExpr();
            ExpectKeyword("then", "after the 'if' condition");
            var then = ParseExpr();
            ExpectKeyword("else", "after the 'then' branch");
            var otherwise = ParseExpr();
            return At(start, new IfExpr(condition, then, otherwise));
        }
        return ParseOr();
    }

    private Expr ParseOr()
    {
        var start = Current;
        var left = ParseAnd();
        while (Current.Kind == TokenKind.Or)
        {
            Advance();
            left = At(start, new OrExpr(left, ParseAnd()));
        }
        return left;
    }

    private Expr ParseAnd()
    {
        var start = Current;
        var left = ParseRelation();
        while (Current.Kind == TokenKind.And)
        {
            Advance();
            left = At(start, new AndExpr(left, ParseRelation()));
        }
        return left;
    }

    private Expr ParseRelation()
    {
        var start = Current;
        var left = ParseAdd();
        var relation = ParseRelationTail(left);
        if (relation is not null && IsRelationalOperator(Current))
            throw Error(Current, CedarErrorKind.ChainedComparison, $"unexpected {Current.Describe()}: chained comparisons need parentheses", "add parentheses to make the order explicit");
        return relation is null ? left : At(start, relation);
    }

    private bool IsRelationalOperator(Token token) =>
        token.Kind is TokenKind.Equal or TokenKind.NotEqual or TokenKind.Less or TokenKind.LessEqual or TokenKind.Greater or TokenKind.GreaterEqual
        || (token.Kind == TokenKind.Identifier && token.Text is "in" or "has" or "like" or "is");

    private Expr? ParseRelationTail(Expr left)
    {
        var op = Current;
        switch (op.Kind)
        {
            case TokenKind.Equal: Advance(); return new EqualsExpr(left, ParseAdd());
            case TokenKind.NotEqual:
            {
                Advance();
                var right = ParseAdd();
                return new NotExpr(new EqualsExpr(left, right) { Span = left.Span.To(right.Span) });
            }
            case TokenKind.Less: Advance(); return new CompareExpr(ComparisonOp.Less, left, ParseAdd());
            case TokenKind.LessEqual: Advance(); return new CompareExpr(ComparisonOp.LessEqual, left, ParseAdd());
            case TokenKind.Greater: Advance(); return new CompareExpr(ComparisonOp.Less, ParseAdd(), left);
            case TokenKind.GreaterEqual: Advance(); return new CompareExpr(ComparisonOp.LessEqual, ParseAdd(), left);
            case TokenKind.Assign: throw Error(op, CedarErrorKind.UnexpectedToken, "unexpected '='", "use '==' to compare");
            case TokenKind.Identifier:
                switch (op.Text)
                {
                    case "in": Advance(); return new InExpr(left, ParseAdd());
                    case "has":
                    {
                        Advance();
                        if (Current.Kind == TokenKind.String) return new HasAttrExpr(left, [UnescapeString(Advance())]);
                        var path = new List<string> { ExpectAttributeName("after 'has'").Text };
                        while (Current.Kind == TokenKind.Dot)
                        {
                            Advance();
                            path.Add(ExpectAttributeName("after '.' in 'has'").Text);
                        }
                        return new HasAttrExpr(left, [.. path]);
                    }
                    case "like":
                    {
                        Advance();
                        var patternToken = Expect(TokenKind.String, "a pattern string", "after 'like'");
                        var wildcards = new List<bool>();
                        var literal = Lexer.Unescape(patternToken.Text, pattern: true, wildcards, (offset, detail) => Error(patternToken, CedarErrorKind.InvalidEscape, detail));
                        return new LikeExpr(left, new WildcardPattern(literal, wildcards));
                    }
                    case "is":
                    {
                        Advance();
                        var typeStart = Current;
                        var type = ParsePath("after 'is'");
                        var typeSpan = SpanFrom(typeStart);
                        if (!IsKeyword("in")) return new IsExpr(left, type, null) { TypeSpan = typeSpan };
                        Advance();
                        return new IsExpr(left, type, ParseAdd()) { TypeSpan = typeSpan };
                    }
                }
                break;
        }
        return null;
    }

    private Token ExpectAttributeName(string context)
    {
        var name = Expect(TokenKind.Identifier, "an attribute name", context);
        CheckNotReserved(name);
        return name;
    }

    private Expr ParseAdd()
    {
        var start = Current;
        var left = ParseMult();
        while (Current.Kind is TokenKind.Plus or TokenKind.Minus)
        {
            var op = Advance().Kind == TokenKind.Plus ? ArithmeticOp.Add : ArithmeticOp.Subtract;
            left = At(start, new ArithmeticExpr(op, left, ParseMult()));
        }
        return left;
    }

    private Expr ParseMult()
    {
        var start = Current;
        var left = ParseUnary();
        while (Current.Kind == TokenKind.Star)
        {
            Advance();
            left = At(start, new ArithmeticExpr(ArithmeticOp.Multiply, left, ParseUnary()));
        }
        return left;
    }

    private Expr ParseUnary()
    {
        var first = Current;
        var ops = new List<Token>();
        while (Current.Kind is TokenKind.Bang or TokenKind.Minus)
        {
            // Cedar allows a run of one unary operator only: `!!x` and `--x`, but not `!-x`.
            if (ops.Count > 0 && Current.Kind != ops[0].Kind)
                throw Error(Current, CedarErrorKind.MixedUnaryOperators, $"unexpected {Current.Describe()} after {first.Describe()}: '!' and '-' cannot be combined without parentheses");
            ops.Add(Advance());
        }
        if (ops.Count > 4) throw Error(first, CedarErrorKind.MixedUnaryOperators, "too many unary operators in a row (at most 4)");
        Expr operand;
        // A '-' directly before a bare integer literal is part of the literal, so i64::MIN can be written;
        // with accessors after it (`-5.foo`), the '-' applies to the whole member expression, as in Cedar.
        if (ops.Count > 0 && ops[^1].Kind == TokenKind.Minus && Current.Kind == TokenKind.Integer && Peek().Kind is not (TokenKind.Dot or TokenKind.LeftBracket))
        {
            var literal = Advance();
            operand = At(ops[^1], new LiteralExpr(LongValue.Of(ParseInteger(literal, negative: true))));
            ops.RemoveAt(ops.Count - 1);
        }
        else
        {
            operand = ParseMember();
        }
        for (var i = ops.Count - 1; i >= 0; i--)
            operand = At<Expr>(ops[i], ops[i].Kind == TokenKind.Bang ? new NotExpr(operand) : new NegateExpr(operand));
        return operand;
    }

    private long ParseInteger(Token literal, bool negative)
    {
        var digits = negative ? "-" + literal.Text : literal.Text;
        if (!long.TryParse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
            throw Error(literal, CedarErrorKind.IntegerOutOfRange, $"integer literal {digits} does not fit in 64 bits");
        return value;
    }

    private Expr ParseMember()
    {
        var start = Current;
        return ParseMemberAccess(start, ParsePrimary());
    }

    private Expr ParseMemberAccess(Token start, Expr target)
    {
        while (true)
        {
            if (Current.Kind == TokenKind.Dot)
            {
                Advance();
                var name = Expect(TokenKind.Identifier, "an attribute or method name", "after '.'");
                CheckNotReserved(name);
                if (Current.Kind == TokenKind.LeftParen)
                {
                    var args = ParseArguments(name.Text);
                    target = MakeMethodCall(start, name, target, args);
                }
                else
                {
                    target = At(start, new GetAttrExpr(target, name.Text));
                }
            }
            else if (Current.Kind == TokenKind.LeftBracket)
            {
                Advance();
                var key = Expect(TokenKind.String, "a string attribute name", "inside '[...]'");
                Expect(TokenKind.RightBracket, "']'", "after the attribute name");
                target = At(start, new GetAttrExpr(target, UnescapeString(key)));
            }
            else return target;
        }
    }

    private List<Expr> ParseArguments(string function)
    {
        Expect(TokenKind.LeftParen, "'('", $"after '{function}'");
        var args = new List<Expr>();
        if (Current.Kind != TokenKind.RightParen)
        {
            while (true)
            {
                args.Add(ParseExpr());
                if (Current.Kind != TokenKind.Comma) break;
                Advance();
                if (Current.Kind == TokenKind.RightParen) break;   // a trailing comma is allowed
            }
        }
        if (Current.Kind != TokenKind.RightParen)
            throw Error(Current, $"expected ')' after the arguments of '{function}', found {Current.Describe()}");
        Advance();
        return args;
    }

    private Expr MakeMethodCall(Token start, Token name, Expr target, List<Expr> args)
    {
        var call = At(start, MakeMethodCallNode(name, target, args));
        return call is ExtensionCallExpr extension ? Fold(extension) : call;
    }

    private Expr MakeMethodCallNode(Token name, Expr target, List<Expr> args)
    {
        void Arity(int expected)
        {
            if (args.Count != expected)
                throw Error(name, CedarErrorKind.WrongArity, $"method '{name.Text}' takes {expected} argument{(expected == 1 ? "" : "s")}, but {args.Count} {(args.Count == 1 ? "was" : "were")} given");
        }
        switch (name.Text)
        {
            case "contains": Arity(1); return new SetOpExpr(SetOp.Contains, target, args[0]);
            case "containsAll": Arity(1); return new SetOpExpr(SetOp.ContainsAll, target, args[0]);
            case "containsAny": Arity(1); return new SetOpExpr(SetOp.ContainsAny, target, args[0]);
            case "isEmpty": Arity(0); return new IsEmptyExpr(target);
            case "hasTag": Arity(1); return new HasTagExpr(target, args[0]);
            case "getTag": Arity(1); return new GetTagExpr(target, args[0]);
        }
        if (ExtensionFunction.Methods.TryGetValue(name.Text, out var function))
        {
            // Cedar checks the arity of extension functions when it calls them, so a wrong count is an evaluation error.
            return new ExtensionCallExpr(function, [target, .. args]);
        }
        if (ExtensionFunction.Constructors.ContainsKey(name.Text))
            throw Error(name, CedarErrorKind.UnknownMethod, $"'{name.Text}' is a function, not a method", $"write {name.Text}(\"...\")");
        throw Error(name, CedarErrorKind.UnknownMethod, $"unknown method '{name.Text}'");
    }

    private Expr ParsePrimary()
    {
        var token = Current;
        var primary = ParsePrimaryNode();
        // A parenthesised expression keeps its own span; everything else spans from its first token.
        return primary.Span.IsNone ? At(token, primary) : primary;
    }

    private Expr ParsePrimaryNode()
    {
        var token = Current;
        switch (token.Kind)
        {
            case TokenKind.Integer:
                Advance();
                return new LiteralExpr(LongValue.Of(ParseInteger(token, negative: false)));
            case TokenKind.String:
                Advance();
                return new LiteralExpr(new StringValue(UnescapeString(token)));
            case TokenKind.LeftParen:
            {
                Advance();
                var inner = ParseExpr();
                Expect(TokenKind.RightParen, "')'", "to close '('");
                return inner;
            }
            case TokenKind.LeftBracket:
            {
                Advance();
                var elements = new List<Expr>();
                while (Current.Kind != TokenKind.RightBracket)
                {
                    elements.Add(ParseExpr());
                    if (Current.Kind == TokenKind.Comma) Advance();
                    else if (Current.Kind != TokenKind.RightBracket) throw Error(Current, $"expected ',' or ']' in the set literal, found {Current.Describe()}");
                }
                Advance();
                var set = At(token, new SetExpr([.. elements]));
                if (elements.All(e => e.ConstantValue is not null))
                    return new LiteralExpr(new SetValue(elements.Select(e => e.ConstantValue!)), set);
                return set;
            }
            case TokenKind.LeftBrace:
            {
                Advance();
                var keys = new List<string>();
                var values = new List<Expr>();
                while (Current.Kind != TokenKind.RightBrace)
                {
                    var keyToken = Current;
                    string key;
                    if (keyToken.Kind == TokenKind.Identifier)
                    {
                        CheckNotReserved(keyToken);
                        key = Advance().Text;
                    }
                    else if (keyToken.Kind == TokenKind.String) key = UnescapeString(Advance());
                    else throw Error(keyToken, $"expected a record key (a name or a string), found {keyToken.Describe()}");
                    if (keys.Contains(key)) throw Error(keyToken, CedarErrorKind.DuplicateKey, $"duplicate key \"{key}\" in record literal");
                    Expect(TokenKind.Colon, "':'", $"after the record key \"{key}\"");
                    keys.Add(key);
                    values.Add(ParseExpr());
                    if (Current.Kind == TokenKind.Comma) Advance();
                    else if (Current.Kind != TokenKind.RightBrace) throw Error(Current, $"expected ',' or '}}' in the record literal, found {Current.Describe()}");
                }
                Advance();
                var record = At(token, new RecordExpr([.. keys], [.. values]));
                if (values.All(v => v.ConstantValue is not null))
                {
                    var fields = new Dictionary<string, Value>(StringComparer.Ordinal);
                    for (var i = 0; i < keys.Count; i++) fields[keys[i]] = values[i].ConstantValue!;
                    return new LiteralExpr(new RecordValue(fields), record);
                }
                return record;
            }
            case TokenKind.Question:
                throw Error(token, CedarErrorKind.MisplacedSlot, "template slots (?principal, ?resource) are only allowed in the policy scope");
            case TokenKind.Identifier:
                return ParseIdentifierPrimary();
            default:
                throw Error(token, $"expected an expression, found {token.Describe()}");
        }
    }

    private Expr ParseIdentifierPrimary()
    {
        var token = Current;
        switch (token.Text)
        {
            case "true": Advance(); return new LiteralExpr(BoolValue.True);
            case "false": Advance(); return new LiteralExpr(BoolValue.False);
            case "principal" when Peek().Kind != TokenKind.DoubleColon: Advance(); return new VariableExpr(Variable.Principal);
            case "action" when Peek().Kind != TokenKind.DoubleColon: Advance(); return new VariableExpr(Variable.Action);
            case "resource" when Peek().Kind != TokenKind.DoubleColon: Advance(); return new VariableExpr(Variable.Resource);
            case "context" when Peek().Kind != TokenKind.DoubleColon: Advance(); return new VariableExpr(Variable.Context);
            case "if": throw Error(token, "an 'if' expression must be in parentheses here");
            case "temporal" when allowTemporal && Peek().Kind == TokenKind.LeftBrace: return ParseTemporalBlock();
        }
        var parts = new List<string>();
        while (true)
        {
            var name = Advance();
            CheckNotReserved(name);
            parts.Add(name.Text);
            if (Current.Kind != TokenKind.DoubleColon) break;
            Advance();
            if (Current.Kind == TokenKind.String)
                return new LiteralExpr(new EntityValue(new EntityUid(string.Join("::", parts), UnescapeString(Advance()))));
            if (Current.Kind != TokenKind.Identifier)
                throw Error(Current, $"expected a name or an entity id string after '{string.Join("::", parts)}::', found {Current.Describe()}");
        }
        var path = string.Join("::", parts);
        if (Current.Kind == TokenKind.LeftParen)
        {
            if (!ExtensionFunction.Constructors.TryGetValue(path, out var function))
            {
                if (ExtensionFunction.Methods.ContainsKey(path))
                    throw Error(token, CedarErrorKind.UnknownFunction, $"'{path}' is a method, not a function", $"write value.{path}(...)");
                throw Error(token, CedarErrorKind.UnknownFunction, $"unknown extension function '{path}'");
            }
            var args = ParseArguments(path);
            return Fold(At(token, new ExtensionCallExpr(function, [.. args])));
        }
        throw Error(token, $"unexpected name '{path}': expected a variable (principal, action, resource, context), a literal, or an entity like {path}::\"id\"");
    }

    /// <summary>Evaluates a call on constant arguments now; a call that would fail stays to fail at evaluation, as Cedar does.</summary>
    private static Expr Fold(ExtensionCallExpr call)
    {
        if (!call.HasRightArity || !call.Children.All(a => a.ConstantValue is not null)) return call;
        try
        {
            return new LiteralExpr(call.Eval(null!), call) { Span = call.Span };
        }
        catch (EvaluationException)
        {
            return call;
        }
    }

    /// <summary>Gives <paramref name="expr"/> the span from <paramref name="start"/> to the last token consumed.</summary>
    private T At<T>(Token start, T expr) where T : Expr
    {
        expr.Span = SpanFrom(start);
        return expr;
    }

    private string UnescapeString(Token token) =>
        Lexer.Unescape(token.Text, pattern: false, null, (offset, detail) => Error(token, CedarErrorKind.InvalidEscape, detail));
}
