using RuntimeAuthz.Policy.Parsing;

namespace RuntimeAuthz.Policy.Schema;

// A light syntax tree of policy conditions for the validator. The evaluator's compiled tree keeps
// no source positions, so conditions are re-read from the policy's tokens; every node remembers
// the token it is reported at.

internal abstract record CNode(int Token);
internal sealed record CBool(int Token, bool Value) : CNode(Token);
internal sealed record CLong(int Token) : CNode(Token);
internal sealed record CString(int Token, string Value) : CNode(Token);
internal sealed record CVar(int Token, string Name) : CNode(Token);
internal sealed record CEntity(int Token, string Type) : CNode(Token);
internal sealed record CIf(int Token, CNode Condition, CNode Then, CNode Else) : CNode(Token);
internal sealed record CAnd(int Token, CNode Left, CNode Right) : CNode(Token);
internal sealed record COr(int Token, CNode Left, CNode Right) : CNode(Token);
internal sealed record CUnary(int Token, string Op, CNode Operand) : CNode(Token);
internal sealed record CBinary(int Token, string Op, CNode Left, CNode Right) : CNode(Token);
internal sealed record CHas(int Token, CNode Operand, IReadOnlyList<string> Path) : CNode(Token);
internal sealed record CLike(int Token, CNode Operand) : CNode(Token);
internal sealed record CIs(int Token, CNode Operand, string Type, CNode? In) : CNode(Token);
internal sealed record CGetAttr(int Token, CNode Operand, string Attribute) : CNode(Token);
internal sealed record CMethod(int Token, CNode Receiver, string Name, IReadOnlyList<CNode> Arguments) : CNode(Token);
internal sealed record CCall(int Token, string Name, IReadOnlyList<CNode> Arguments) : CNode(Token);
internal sealed record CSet(int Token, IReadOnlyList<CNode> Elements) : CNode(Token);
internal sealed record CRecord(int Token, IReadOnlyList<(string Key, CNode Value)> Fields) : CNode(Token);

/// <summary>Recursive-descent reader of Cedar condition expressions over lexer tokens (Cedar's precedence).</summary>
internal sealed class ConditionReader(List<Token> tokens)
{
    private sealed class GiveUp : Exception;

    private int _i;

    /// <summary>Reads every when/unless body after <paramref name="start"/>; null when the text is not understood.</summary>
    public List<(bool IsWhen, CNode Body)>? ReadConditions(int start)
    {
        _i = start;
        var bodies = new List<(bool, CNode)>();
        try
        {
            while (_i < tokens.Count && tokens[_i].Kind != TokenKind.Semicolon && tokens[_i].Kind != TokenKind.EndOfInput)
            {
                if (tokens[_i] is not { Kind: TokenKind.Identifier, Text: "when" or "unless" }) return null;
                bool isWhen = tokens[_i++].Text == "when";
                Expect(TokenKind.LeftBrace);
                if (Is(TokenKind.RightBrace)) { _i++; continue; }
                bodies.Add((isWhen, Expr()));
                Expect(TokenKind.RightBrace);
            }
            return bodies;
        }
        catch (GiveUp)
        {
            return null;
        }
    }

    private bool Is(TokenKind kind) => _i < tokens.Count && tokens[_i].Kind == kind;
    private bool IsWord(string word) => _i < tokens.Count && tokens[_i].Kind == TokenKind.Identifier && tokens[_i].Text == word;

    private void Expect(TokenKind kind)
    {
        if (!Is(kind)) throw new GiveUp();
        _i++;
    }

    private static string Unquote(Token t) => Lexer.Unescape(t.Text, false, null, (_, _) => new GiveUp());

    private CNode Expr()
    {
        if (IsWord("if"))
        {
            int at = _i++;
            var condition = Expr();
            if (!IsWord("then")) throw new GiveUp();
            _i++;
            var then = Expr();
            if (!IsWord("else")) throw new GiveUp();
            _i++;
            return new CIf(at, condition, then, Expr());
        }
        return Or();
    }

    private CNode Or()
    {
        var left = And();
        while (Is(TokenKind.Or)) { int at = _i++; left = new COr(at, left, And()); }
        return left;
    }

    private CNode And()
    {
        var left = Relation();
        while (Is(TokenKind.And)) { int at = _i++; left = new CAnd(at, left, Relation()); }
        return left;
    }

    private CNode Relation()
    {
        var left = Add();
        if (_i >= tokens.Count) return left;
        var t = tokens[_i];
        string? op = t.Kind switch
        {
            TokenKind.Less => "<", TokenKind.LessEqual => "<=", TokenKind.Greater => ">", TokenKind.GreaterEqual => ">=",
            TokenKind.Equal => "==", TokenKind.NotEqual => "!=",
            TokenKind.Identifier when t.Text == "in" => "in",
            _ => null,
        };
        if (op != null) { int at = _i++; return new CBinary(at, op, left, Add()); }
        if (IsWord("has"))
        {
            int at = _i++;
            var path = new List<string>();
            if (Is(TokenKind.String)) path.Add(Unquote(tokens[_i++]));
            else
            {
                if (!Is(TokenKind.Identifier)) throw new GiveUp();
                path.Add(tokens[_i++].Text);
                while (Is(TokenKind.Dot) && _i + 1 < tokens.Count && tokens[_i + 1].Kind == TokenKind.Identifier) { path.Add(tokens[_i + 1].Text); _i += 2; }
            }
            return new CHas(at, left, path);
        }
        if (IsWord("like"))
        {
            int at = _i++;
            Expect(TokenKind.String);
            return new CLike(at, left);
        }
        if (IsWord("is"))
        {
            int at = _i++;
            string type = PathText();
            CNode? inExpr = null;
            if (IsWord("in")) { _i++; inExpr = Add(); }
            return new CIs(at, left, type, inExpr);
        }
        return left;
    }

    private string PathText()
    {
        if (!Is(TokenKind.Identifier)) throw new GiveUp();
        var parts = new List<string> { tokens[_i++].Text };
        while (Is(TokenKind.DoubleColon) && _i + 1 < tokens.Count && tokens[_i + 1].Kind == TokenKind.Identifier) { parts.Add(tokens[_i + 1].Text); _i += 2; }
        return string.Join("::", parts);
    }

    private CNode Add()
    {
        var left = Mult();
        while (Is(TokenKind.Plus) || Is(TokenKind.Minus)) { int at = _i; string op = tokens[_i++].Text; left = new CBinary(at, op, left, Mult()); }
        return left;
    }

    private CNode Mult()
    {
        var left = Unary();
        while (Is(TokenKind.Star)) { int at = _i++; left = new CBinary(at, "*", left, Unary()); }
        return left;
    }

    private CNode Unary()
    {
        if (Is(TokenKind.Bang) || Is(TokenKind.Minus))
        {
            int at = _i;
            string op = tokens[_i++].Text;
            // -<integer literal> is a literal (this also covers -9223372036854775808).
            if (op == "-" && Is(TokenKind.Integer)) { _i++; return Member(new CLong(at)); }
            return new CUnary(at, op, Unary());
        }
        return Member(Primary());
    }

    private CNode Member(CNode target)
    {
        while (true)
        {
            if (Is(TokenKind.Dot) && _i + 1 < tokens.Count && tokens[_i + 1].Kind == TokenKind.Identifier)
            {
                int at = _i + 1;
                string name = tokens[at].Text;
                _i += 2;
                if (Is(TokenKind.LeftParen)) target = new CMethod(at, target, name, Arguments(TokenKind.RightParen));
                else target = new CGetAttr(at, target, name);
            }
            else if (Is(TokenKind.LeftBracket) && _i + 2 < tokens.Count && tokens[_i + 1].Kind == TokenKind.String && tokens[_i + 2].Kind == TokenKind.RightBracket)
            {
                int at = _i + 1;
                target = new CGetAttr(at, target, Unquote(tokens[at]));
                _i += 3;
            }
            else return target;
        }
    }

    private List<CNode> Arguments(TokenKind close)
    {
        _i++; // the opening bracket
        var list = new List<CNode>();
        if (Is(close)) { _i++; return list; }
        while (true)
        {
            list.Add(Expr());
            if (Is(TokenKind.Comma)) { _i++; if (Is(close)) { _i++; return list; } continue; }
            Expect(close);
            return list;
        }
    }

    private CNode Primary()
    {
        if (_i >= tokens.Count) throw new GiveUp();
        var t = tokens[_i];
        int at = _i;
        switch (t.Kind)
        {
            case TokenKind.Integer: _i++; return new CLong(at);
            case TokenKind.String: _i++; return new CString(at, Unquote(t));
            case TokenKind.LeftParen:
                {
                    _i++;
                    var inner = Expr();
                    Expect(TokenKind.RightParen);
                    return inner;
                }
            case TokenKind.LeftBracket: return new CSet(at, Arguments(TokenKind.RightBracket));
            case TokenKind.LeftBrace:
                {
                    _i++;
                    var fields = new List<(string, CNode)>();
                    while (!Is(TokenKind.RightBrace))
                    {
                        string key;
                        if (Is(TokenKind.String)) key = Unquote(tokens[_i++]);
                        else if (Is(TokenKind.Identifier)) key = tokens[_i++].Text;
                        else throw new GiveUp();
                        Expect(TokenKind.Colon);
                        fields.Add((key, Expr()));
                        if (Is(TokenKind.Comma)) _i++;
                        else if (!Is(TokenKind.RightBrace)) throw new GiveUp();
                    }
                    _i++;
                    return new CRecord(at, fields);
                }
            case TokenKind.Identifier:
                {
                    if (t.Text is "true" or "false") { _i++; return new CBool(at, t.Text == "true"); }
                    if (t.Text is "principal" or "action" or "resource" or "context") { _i++; return new CVar(at, t.Text); }
                    var parts = new List<string> { t.Text };
                    _i++;
                    while (Is(TokenKind.DoubleColon) && _i + 1 < tokens.Count)
                    {
                        var next = tokens[_i + 1];
                        if (next.Kind == TokenKind.Identifier) { parts.Add(next.Text); _i += 2; continue; }
                        if (next.Kind == TokenKind.String) { _i += 2; return new CEntity(at, string.Join("::", parts)); }
                        throw new GiveUp();
                    }
                    if (Is(TokenKind.LeftParen)) return new CCall(at, string.Join("::", parts), Arguments(TokenKind.RightParen));
                    throw new GiveUp();
                }
            default:
                throw new GiveUp();
        }
    }
}
