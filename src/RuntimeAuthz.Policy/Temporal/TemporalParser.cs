using System.Globalization;
using RuntimeAuthz.Policy.Parsing;

namespace RuntimeAuthz.Policy.Temporal;

/// <summary>
/// Parses the Dogwood temporal sub-language (the body of <c>temporal { … }</c>) from the Cedar token
/// stream. Precedence, loosest first: <c>&amp;&amp;</c>, <c>since</c>, <c>!</c>; <c>exists</c> and aggregate
/// <c>where</c> bodies extend as far right as possible.
/// </summary>
internal sealed class TemporalParser : TokenParser
{
    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "formerly", "previous", "since", "within", "exists", "tp", "count", "sum", "for", "where",
    };

    private TemporalParser(List<Token> tokens, int index, string sourceName)
        : base(tokens, index, sourceName)
    {
    }

    /// <summary>
    /// Parses <c>temporal { … }</c> starting at the <c>temporal</c> keyword; returns the block and the
    /// index of the first token after its closing brace.
    /// </summary>
    public static (TemporalBlock Block, int Next) ParseBlock(List<Token> tokens, int start, string sourceName)
    {
        var parser = new TemporalParser(tokens, start, sourceName);
        var keyword = parser.Advance();
        parser.Expect(TokenKind.LeftBrace, "'{'", "after 'temporal'");
        if (parser.Current.Kind == TokenKind.RightBrace) throw parser.Error(parser.Current, "the temporal block is empty: expected a temporal condition");
        var condition = parser.ParseCondition();
        parser.Expect(TokenKind.RightBrace, "'}'", "to close the temporal block (only '&&', '!', 'since' and the temporal operators combine conditions; there is no '||')");
        return (new TemporalBlock(condition, Pos(keyword), sourceName), parser.index);
    }

    private static SourcePosition Pos(Token token) => new(token.Line, token.Column);

    // Nesting bound: a hostile policy must fail to parse, not exhaust the stack (evaluation recurses as deep).
    private const int MaxNesting = 48;
    private int nesting;

    // condition ::= conjunct_or_since { "&&" conjunct_or_since }
    private Cond ParseCondition()
    {
        if (++nesting > MaxNesting) throw Error(Current, CedarErrorKind.TooDeep, $"the temporal condition is nested too deeply (more than {MaxNesting} levels)");
        try
        {
            return ParseConditionBody();
        }
        finally
        {
            nesting--;
        }
    }

    private Cond ParseConditionBody()
    {
        var left = ParseConjunctOrSince();
        while (Current.Kind == TokenKind.And)
        {
            var op = Advance();
            left = new AndCond(left, ParseConjunctOrSince(), Pos(op));
        }
        if (Current.Kind == TokenKind.Or) throw Error(Current, "'||' is not part of the temporal language: write two policies, or use '!' and '&&'");
        return left;
    }

    // conjunct_or_since ::= { "!" } conjunct [ "since" within atom ]
    private Cond ParseConjunctOrSince()
    {
        var start = Current;
        var left = ParseNegated();
        if (IsKeyword("since"))
        {
            Advance();
            var window = ParseWithin("after 'since'");
            var right = ParseAtom("after 'since within …'");
            return new SinceCond(left, window, right, Pos(start));
        }
        return left;
    }

    private Cond ParseNegated()
    {
        if (Current.Kind == TokenKind.Bang)
        {
            var bang = Advance();
            if (++nesting > MaxNesting) throw Error(bang, CedarErrorKind.TooDeep, $"too many '!' in a row (more than {MaxNesting})");
            try
            {
                return new NotCond(ParseNegated(), Pos(bang));
            }
            finally
            {
                nesting--;
            }
        }
        if (Current.Kind == TokenKind.NotEqual) throw Error(Current, "there is no '!=' in the temporal language: write !(x == y)");
        return ParseConjunct();
    }

    private Cond ParseConjunct()
    {
        var token = Current;
        if (token.Kind == TokenKind.Identifier)
        {
            switch (token.Text)
            {
                case "formerly":
                case "previous":
                {
                    Advance();
                    var window = ParseWithin($"after '{token.Text}'");
                    var body = ParseAtom($"after '{token.Text} within {window.Text}'");
                    return token.Text == "formerly" ? new FormerlyCond(window, body, Pos(token)) : new PreviousCond(window, body, Pos(token));
                }
                case "exists":
                {
                    Advance();
                    var binder = ParseTypedBinder("after 'exists'");
                    Expect(TokenKind.Dot, "'.'", $"after the binder of 'exists ({binder.Variable}: {binder.Type})'");
                    var body = ParseCondition();
                    return new ExistsCond(binder.Variable, binder.Type, body, Pos(token));
                }
                case "tp" when Peek().Kind == TokenKind.LeftParen:
                    return ParseTp();
            }
        }
        return ParseAtomOrComparison("to start a temporal condition", allowParenthesized: true);
    }

    // atom ::= "(" condition ")" | tp | predicate | comparison
    private Cond ParseAtom(string context)
    {
        if (IsKeyword("tp") && Peek().Kind == TokenKind.LeftParen) return ParseTp();
        if (IsKeyword("formerly") || IsKeyword("previous") || IsKeyword("exists"))
            throw Error(Current, $"'{Current.Text}' must be in parentheses {context}: write ({Current.Text} …)");
        return ParseAtomOrComparison(context, allowParenthesized: true);
    }

    private Cond ParseTp()
    {
        var tp = Advance();
        Expect(TokenKind.LeftParen, "'('", "after 'tp'");
        var name = ExpectVariableName("inside 'tp(…)'");
        Expect(TokenKind.RightParen, "')'", "after the variable of 'tp'");
        return new TpCond(name.Text, Pos(tp));
    }

    private Cond ParseAtomOrComparison(string context, bool allowParenthesized)
    {
        var start = Current;
        // "(" starts a parenthesized condition unless it fences an aggregate: (count …) == n.
        if (start.Kind == TokenKind.LeftParen && allowParenthesized && !(Peek().Kind == TokenKind.Identifier && Peek().Text is "count" or "sum"))
        {
            Advance();
            var inner = ParseCondition();
            Expect(TokenKind.RightParen, "')'", "to close '('");
            return inner;
        }
        if (start.Kind == TokenKind.Identifier && !Keywords.Contains(start.Text) && Peek().Kind == TokenKind.DoubleColon)
        {
            var predicate = TryParsePredicate();
            if (predicate is not null) return predicate;
        }
        var left = ParseTerm();
        if (!TryCompareOp(out var op))
        {
            if (left is VariableTerm v && Current.Kind == TokenKind.LeftParen)
                throw Error(start, $"macro call '{v.Name}(…)' is not supported: write the condition out");
            throw Error(Current, $"expected a comparison operator (<, <=, >, >=, ==) after the term, found {Current.Describe()}");
        }
        var right = ParseTerm();
        if (TryPeekCompareOp()) throw Error(Current, "comparisons do not chain: combine them with '&&'");
        return new CompareCond(op, left, right, Pos(start));
    }

    private bool TryPeekCompareOp() => Current.Kind is TokenKind.Less or TokenKind.LessEqual or TokenKind.Greater or TokenKind.GreaterEqual or TokenKind.Equal;

    private bool TryCompareOp(out CompareOp op)
    {
        switch (Current.Kind)
        {
            case TokenKind.Less: op = CompareOp.Less; break;
            case TokenKind.LessEqual: op = CompareOp.LessEqual; break;
            case TokenKind.Greater: op = CompareOp.Greater; break;
            case TokenKind.GreaterEqual: op = CompareOp.GreaterEqual; break;
            case TokenKind.Equal: op = CompareOp.Equal; break;
            case TokenKind.NotEqual: throw Error(Current, "there is no '!=' in the temporal language: write !(x == y)");
            case TokenKind.Assign: throw Error(Current, "unexpected '=': use '==' to compare");
            default: op = default; return false;
        }
        Advance();
        return true;
    }

    /// <summary>Parses <c>Ns::Action::"Id"::kind{ … }</c>; returns null (position unchanged) when the name is an entity term instead.</summary>
    private PredicateCond? TryParsePredicate()
    {
        var save = index;
        var start = Current;
        var parts = new List<string>();
        while (true)
        {
            parts.Add(Advance().Text);
            if (Current.Kind != TokenKind.DoubleColon) { index = save; return null; }
            Advance();
            if (Current.Kind == TokenKind.String) break;
            if (Current.Kind != TokenKind.Identifier) throw Error(Current, $"expected a name or a quoted action id after '{string.Join("::", parts)}::', found {Current.Describe()}");
        }
        var idToken = Advance();
        if (Current.Kind == TokenKind.LeftBrace)
            throw Error(Current, $"expected '::' and an event kind (e.g. ::request) after {string.Join("::", parts)}::{idToken.Text}, found '{{'");
        if (Current.Kind != TokenKind.DoubleColon) { index = save; return null; }
        Advance();
        var kind = Expect(TokenKind.Identifier, "an event kind (e.g. request, response)", $"after {string.Join("::", parts)}::{idToken.Text}::");
        var args = new List<PredicateArg>();
        Expect(TokenKind.LeftBrace, "'{'", $"after the event kind '{kind.Text}' (a predicate lists its fields in braces, e.g. ::{kind.Text}{{ input.x: context.input.x }})");
        ParseNamedArgs(args);
        // Field-injection refinement: P{…}{…} merges the blocks.
        while (Current.Kind == TokenKind.LeftBrace)
        {
            Advance();
            ParseNamedArgs(args);
        }
        var id = Lexer.Unescape(idToken.Text, pattern: false, null, (offset, detail) => Error(idToken, detail));
        return new PredicateCond(string.Join("::", parts), id, kind.Text, args, Pos(start));
    }

    private void ParseNamedArgs(List<PredicateArg> args)
    {
        while (Current.Kind != TokenKind.RightBrace)
        {
            var first = Expect(TokenKind.Identifier, "a field name", "in the predicate's fields");
            var path = new List<string> { first.Text };
            while (Current.Kind == TokenKind.Dot)
            {
                Advance();
                path.Add(Expect(TokenKind.Identifier, "a field name", "after '.' in a field path").Text);
            }
            Expect(TokenKind.Colon, "':'", $"after the field '{string.Join('.', path)}'");
            var term = ParseTerm();
            args.Add(new PredicateArg(string.Join('.', path), term, Pos(first)));
            if (Current.Kind == TokenKind.Comma) Advance();
            else if (Current.Kind != TokenKind.RightBrace) throw Error(Current, $"expected ',' or '}}' in the predicate's fields, found {Current.Describe()}");
        }
        Advance();
    }

    private Binder ParseTypedBinder(string context)
    {
        var open = Expect(TokenKind.LeftParen, "'('", context);
        var name = ExpectVariableName("as the bound variable");
        Expect(TokenKind.Colon, "':'", $"after '{name.Text}' (the binder's type is required, e.g. ({name.Text}: Long))");
        var type = ParseTypeName();
        Expect(TokenKind.RightParen, "')'", "after the binder's type");
        return new Binder(name.Text, type, Pos(open));
    }

    private string ParseTypeName()
    {
        var parts = new List<string> { Expect(TokenKind.Identifier, "a type name", "in the binder").Text };
        while (Current.Kind == TokenKind.DoubleColon)
        {
            Advance();
            parts.Add(Expect(TokenKind.Identifier, "a type name", "after '::'").Text);
        }
        return string.Join("::", parts);
    }

    private Token ExpectVariableName(string context)
    {
        var name = Expect(TokenKind.Identifier, "a variable name", context);
        if (Keywords.Contains(name.Text) || name.Text is "context" or "principal" or "resource" or "true" or "false" or "_")
            throw Error(name, $"'{name.Text}' is reserved and cannot name a variable");
        return name;
    }

    private Window ParseWithin(string context)
    {
        ExpectKeyword("within", $"{context} (every temporal operator needs a window, e.g. 'within 1h')");
        var amount = Current;
        if (amount.Kind != TokenKind.Integer) throw Error(amount, $"expected a window like 30s, 5m, 1h or 1d after 'within', found {amount.Describe()}");
        Advance();
        var unit = Current;
        // The unit must touch the number: "1h", not "1 h".
        if (unit.Kind != TokenKind.Identifier || unit.Offset != amount.Offset + amount.Text.Length || unit.Text is not ("s" or "m" or "h" or "d"))
            throw Error(unit, $"expected a time unit (s, m, h or d) right after '{amount.Text}', found {unit.Describe()}");
        Advance();
        if (!long.TryParse(amount.Text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > 10_000_000)
            throw Error(amount, $"window {amount.Text}{unit.Text} is too large");
        var seconds = unit.Text switch { "s" => 1L, "m" => 60L, "h" => 3600L, _ => 86400L };
        return new Window(n * seconds * 1000, amount.Text + unit.Text, Pos(amount));
    }

    // ---- terms ---------------------------------------------------------------------------------

    private Term ParseTerm()
    {
        var token = Current;
        switch (token.Kind)
        {
            case TokenKind.Integer:
                Advance();
                return new LiteralTerm(LongValue.Of(ParseLong(token, negative: false)), Pos(token));
            case TokenKind.Minus when Peek().Kind == TokenKind.Integer:
            {
                Advance();
                var digits = Advance();
                return new LiteralTerm(LongValue.Of(ParseLong(digits, negative: true)), Pos(token));
            }
            case TokenKind.String:
                Advance();
                return new LiteralTerm(new StringValue(Lexer.Unescape(token.Text, pattern: false, null, (o, d) => Error(token, d))), Pos(token));
            case TokenKind.Star:
                Advance();
                return new WildcardTerm(Pos(token));
            case TokenKind.LeftBracket:
            {
                Advance();
                if (++nesting > MaxNesting) throw Error(token, CedarErrorKind.TooDeep, $"arrays are nested too deeply (more than {MaxNesting} levels)");
                var items = new List<Term>();
                while (Current.Kind != TokenKind.RightBracket)
                {
                    items.Add(ParseTerm());
                    if (Current.Kind == TokenKind.Comma) Advance();
                    else if (Current.Kind != TokenKind.RightBracket) throw Error(Current, $"expected ',' or ']' in the array, found {Current.Describe()}");
                }
                Advance();
                nesting--;
                return new ArrayTerm(items, Pos(token));
            }
            case TokenKind.LeftParen when Peek().Kind == TokenKind.Identifier && Peek().Text is "count" or "sum":
            {
                Advance();
                var aggregate = ParseAggregate();
                Expect(TokenKind.RightParen, "')'", "to close the parenthesized aggregate");
                return aggregate;
            }
            case TokenKind.Question:
                throw Error(token, "macro parameters (?name) are only allowed inside a macro body, and macros are not supported");
            case TokenKind.Identifier:
                return ParseNameTerm();
            default:
                throw Error(token, $"expected a term (a literal, context.…, principal, resource, a variable, '*' or an aggregate), found {token.Describe()}");
        }
    }

    private Term ParseNameTerm()
    {
        var token = Current;
        switch (token.Text)
        {
            case "true": Advance(); return new LiteralTerm(BoolValue.True, Pos(token));
            case "false": Advance(); return new LiteralTerm(BoolValue.False, Pos(token));
            case "_" : Advance(); return new WildcardTerm(Pos(token));
            case "count":
            case "sum":
                return ParseAggregate();
            case "context" when Peek().Kind != TokenKind.DoubleColon:
            {
                Advance();
                if (Current.Kind != TokenKind.Dot) throw Error(Current, "expected '.field' after 'context': a term reads one field of the request context, e.g. context.input.user");
                return new ContextTerm(ParseDotPath(), Pos(token));
            }
            case "principal" or "resource" when Peek().Kind != TokenKind.DoubleColon:
            {
                Advance();
                var attributes = Current.Kind == TokenKind.Dot ? ParseDotPath() : [];
                return new ScopeTerm(token.Text == "principal", attributes, Pos(token));
            }
            case "decimal" when Peek().Kind == TokenKind.LeftParen:
            {
                Advance();
                Advance();
                var text = Expect(TokenKind.String, "a decimal string", "inside decimal(…)");
                Expect(TokenKind.RightParen, "')'", "after the decimal string");
                var literal = Lexer.Unescape(text.Text, pattern: false, null, (o, d) => Error(text, d));
                return new LiteralTerm(new DecimalTextValue(literal), Pos(token));
            }
        }
        if (Keywords.Contains(token.Text)) throw Error(token, $"unexpected '{token.Text}' where a term was expected");
        Advance();
        if (Current.Kind != TokenKind.DoubleColon) return new VariableTerm(token.Text, Pos(token));
        var parts = new List<string> { token.Text };
        while (Current.Kind == TokenKind.DoubleColon)
        {
            Advance();
            if (Current.Kind == TokenKind.String)
            {
                var idToken = Advance();
                var id = Lexer.Unescape(idToken.Text, pattern: false, null, (o, d) => Error(idToken, d));
                return new LiteralTerm(new EntityValue(new EntityUid(string.Join("::", parts), id)), Pos(token));
            }
            parts.Add(Expect(TokenKind.Identifier, "a name or an entity id string", "after '::'").Text);
        }
        throw Error(Current, $"expected an entity id string after '{string.Join("::", parts)}::'");
    }

    private List<string> ParseDotPath()
    {
        var path = new List<string>();
        while (Current.Kind == TokenKind.Dot)
        {
            Advance();
            path.Add(Expect(TokenKind.Identifier, "a field name", "after '.'").Text);
        }
        return path;
    }

    private AggregateTerm ParseAggregate()
    {
        var keyword = Advance();
        string? sumVariable = null;
        if (keyword.Text == "sum") sumVariable = ExpectVariableName("after 'sum' (the summed variable)").Text;
        ExpectKeyword("for", $"after '{keyword.Text}{(sumVariable is null ? "" : " " + sumVariable)}' (the aggregation domain, e.g. for (t: Timepoint).)");
        var binders = new List<Binder> { ParseTypedBinder("after 'for'") };
        while (Current.Kind == TokenKind.Comma)
        {
            Advance();
            binders.Add(ParseTypedBinder("after ','"));
        }
        Expect(TokenKind.Dot, "'.'", "after the aggregation domain");
        ExpectKeyword("where", "after the aggregation domain");
        var body = ParseCondition();
        return new AggregateTerm(sumVariable, binders, body, Pos(keyword));
    }

    private long ParseLong(Token literal, bool negative)
    {
        var digits = negative ? "-" + literal.Text : literal.Text;
        if (!long.TryParse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
            throw Error(literal, $"integer literal {digits} does not fit in 64 bits");
        return value;
    }
}
