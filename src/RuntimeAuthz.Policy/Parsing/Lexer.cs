using System.Text;

namespace RuntimeAuthz.Policy.Parsing;

internal enum TokenKind
{
    Identifier, String, Integer, EndOfInput,
    LeftParen, RightParen, LeftBracket, RightBracket, LeftBrace, RightBrace,
    Comma, Semicolon, Colon, DoubleColon, Dot, At, Question,
    Equal, NotEqual, Less, LessEqual, Greater, GreaterEqual, And, Or,
    Plus, Minus, Star, Bang, Assign,
}

internal readonly record struct Token(TokenKind Kind, string Text, int Offset, int Line, int Column)
{
    /// <summary>The span of this token alone (a string token may run over several lines).</summary>
    public SourceSpan Span(string source)
    {
        var lastNewline = Text.LastIndexOf('\n');
        var endLine = Line + Text.Count(c => c == '\n');
        var endColumn = lastNewline < 0 ? Column + Text.Length : Text.Length - lastNewline;
        return new SourceSpan(source, Line, Column, endLine, endColumn, Offset, Offset + Text.Length);
    }

    public string Describe() => Kind switch
    {
        TokenKind.EndOfInput => "end of input",
        TokenKind.String => $"string {Text}",
        TokenKind.Integer => $"number {Text}",
        _ => $"'{Text}'",
    };
}

/// <summary>Splits Cedar source into tokens, tracking 1-based line and column for messages.</summary>
internal sealed class Lexer
{
    private readonly string text;
    private readonly string sourceName;
    private int position;
    private int line = 1;
    private int lineStart;

    /// <summary>Positions count from <paramref name="line"/>:<paramref name="column"/> (for text cut out of a larger document).</summary>
    public Lexer(string text, string sourceName, int line = 1, int column = 1)
    {
        this.text = text;
        this.sourceName = sourceName;
        this.line = line;
        lineStart = 1 - column;
    }

    public List<Token> Tokenize()
    {
        var tokens = new List<Token>();
        while (true)
        {
            SkipTrivia();
            var token = Next();
            tokens.Add(token);
            if (token.Kind == TokenKind.EndOfInput) return tokens;
        }
    }

    private void SkipTrivia()
    {
        while (position < text.Length)
        {
            var ch = text[position];
            if (ch == '\n') { position++; line++; lineStart = position; }
            else if (char.IsWhiteSpace(ch)) position++;
            else if (ch == '/' && position + 1 < text.Length && text[position + 1] == '/')
            {
                while (position < text.Length && text[position] != '\n') position++;
            }
            else return;
        }
    }

    private CedarSyntaxException Error(int offset, CedarErrorKind kind, string detail)
    {
        var column = offset - lineStart + 1;
        return new([new CedarError(kind, new SourceSpan(sourceName, line, column, line, column + 1, offset, offset + 1), detail)]);
    }

    private Token Make(TokenKind kind, int start) =>
        new(kind, text[start..position], start, line, start - lineStart + 1);

    private Token Next()
    {
        var start = position;
        if (position >= text.Length) return new Token(TokenKind.EndOfInput, "", start, line, start - lineStart + 1);
        var ch = text[position];
        if (char.IsAsciiLetter(ch) || ch == '_')
        {
            while (position < text.Length && (char.IsAsciiLetterOrDigit(text[position]) || text[position] == '_')) position++;
            return Make(TokenKind.Identifier, start);
        }
        if (char.IsAsciiDigit(ch))
        {
            while (position < text.Length && char.IsAsciiDigit(text[position])) position++;
            return Make(TokenKind.Integer, start);
        }
        if (ch == '"')
        {
            var startLine = line;
            var startColumn = start - lineStart + 1;
            position++;
            while (true)
            {
                if (position >= text.Length)
                    throw new CedarSyntaxException([new CedarError(CedarErrorKind.UnterminatedString,
                        new SourceSpan(sourceName, startLine, startColumn, startLine, startColumn + 1, start, start + 1), "unterminated string literal: missing closing '\"'")]);
                var c = text[position];
                if (c == '\\')
                {
                    if (position + 1 < text.Length && text[position + 1] == '\n') { line++; lineStart = position + 2; }
                    position += 2;
                    continue;
                }
                if (c == '"') { position++; break; }
                if (c == '\n') { line++; lineStart = position + 1; }
                position++;
            }
            // The token keeps the raw quoted text; unescaping happens where the meaning (string or pattern) is known.
            return new Token(TokenKind.String, text[start..position], start, startLine, startColumn);
        }
        position++;
        TokenKind Two(char second, TokenKind ifTwo, TokenKind ifOne)
        {
            if (position < text.Length && text[position] == second) { position++; return ifTwo; }
            return ifOne;
        }
        TokenKind kind = ch switch
        {
            '(' => TokenKind.LeftParen,
            ')' => TokenKind.RightParen,
            '[' => TokenKind.LeftBracket,
            ']' => TokenKind.RightBracket,
            '{' => TokenKind.LeftBrace,
            '}' => TokenKind.RightBrace,
            ',' => TokenKind.Comma,
            ';' => TokenKind.Semicolon,
            '.' => TokenKind.Dot,
            '@' => TokenKind.At,
            '?' => TokenKind.Question,
            '+' => TokenKind.Plus,
            '-' => TokenKind.Minus,
            '*' => TokenKind.Star,
            ':' => Two(':', TokenKind.DoubleColon, TokenKind.Colon),
            '=' => Two('=', TokenKind.Equal, TokenKind.Assign),
            '!' => Two('=', TokenKind.NotEqual, TokenKind.Bang),
            '<' => Two('=', TokenKind.LessEqual, TokenKind.Less),
            '>' => Two('=', TokenKind.GreaterEqual, TokenKind.Greater),
            '&' => Two('&', TokenKind.And, TokenKind.EndOfInput),
            '|' => Two('|', TokenKind.Or, TokenKind.EndOfInput),
            _ => TokenKind.EndOfInput,
        };
        if (kind == TokenKind.EndOfInput)
        {
            var shown = ch is '&' or '|' ? $"'{ch}' (did you mean '{ch}{ch}'?)" : $"character '{ch}'";
            throw Error(start, CedarErrorKind.UnexpectedCharacter, $"unexpected {shown}");
        }
        return Make(kind, start);
    }

    /// <summary>
    /// Unescapes a quoted Cedar string token (quotes included). In patterns, <c>\*</c> is a literal star and bare <c>*</c> a wildcard;
    /// the result then marks wildcards through <paramref name="wildcards"/>.
    /// </summary>
    public static string Unescape(string quoted, bool pattern, List<bool>? wildcards, Func<int, string, Exception> error) =>
        UnescapeBody(quoted.AsSpan(1, quoted.Length - 2), pattern, wildcards, error);

    /// <summary>
    /// The one reading of Cedar escapes, used for strings, entity ids, patterns and names in policies, schemas,
    /// Dogwood files and traces. Cedar uses Rust's string-literal rules: <c>\n \r \t \\ \0 \' \"</c>, <c>\xHH</c> up to
    /// 7F, <c>\u{…}</c> with 1 to 6 hex digits and underscores after the first digit, a backslash before a line break
    /// skips the break and the whitespace after it, and a bare carriage return is an error.
    /// <paramref name="error"/> gets the offset in <paramref name="body"/> and what is wrong.
    /// </summary>
    public static string UnescapeBody(ReadOnlySpan<char> body, bool pattern, List<bool>? wildcards, Func<int, string, Exception> error)
    {
        var builder = new StringBuilder(body.Length);
        for (var i = 0; i < body.Length; i++)
        {
            var ch = body[i];
            if (ch != '\\')
            {
                if (ch == '\r') throw error(i, "a carriage return in a string must be written '\\r'");
                if (char.IsHighSurrogate(ch) && i + 1 < body.Length)
                {
                    builder.Append(ch).Append(body[++i]);
                    wildcards?.Add(false); wildcards?.Add(false);
                    continue;
                }
                builder.Append(ch);
                wildcards?.Add(pattern && ch == '*');
                continue;
            }
            if (i + 1 >= body.Length) throw error(i, "incomplete escape sequence '\\'");
            var escapeAt = i;
            var esc = body[++i];
            string produced;
            switch (esc)
            {
                case '\n':
                    // A line continuation: the break and the whitespace that follows are not part of the string.
                    while (i + 1 < body.Length && body[i + 1] is ' ' or '\t' or '\n' or '\r') i++;
                    continue;
                case 'n': produced = "\n"; break;
                case 'r': produced = "\r"; break;
                case 't': produced = "\t"; break;
                case '0': produced = "\0"; break;
                case '\\': produced = "\\"; break;
                case '\'': produced = "'"; break;
                case '"': produced = "\""; break;
                case '*' when pattern: produced = "*"; break;
                case 'x':
                {
                    if (i + 2 > body.Length - 1 || !Uri.IsHexDigit(body[i + 1]) || !Uri.IsHexDigit(body[i + 2]))
                        throw error(escapeAt, "invalid escape '\\x': expected two hex digits");
                    var code = Convert.ToInt32(body.Slice(i + 1, 2).ToString(), 16);
                    if (code > 0x7F) throw error(escapeAt, $"invalid escape '\\x{body.Slice(i + 1, 2)}': only ASCII (up to \\x7f) is allowed");
                    produced = ((char)code).ToString();
                    i += 2;
                    break;
                }
                case 'u':
                    produced = UnicodeEscape(body, ref i, escapeAt, error);
                    break;
                default:
                    throw error(escapeAt, $"invalid escape sequence '\\{esc}'");
            }
            builder.Append(produced);
            // Only `\*` is a literal star; a star spelled as \x2a or \u{2a} is still a wildcard, as in Cedar.
            if (wildcards is not null) foreach (var c in produced) wildcards.Add(pattern && esc != '*' && c == '*');
        }
        return builder.ToString();
    }

    /// <summary>Reads <c>{…}</c> after <c>\u</c> (<paramref name="i"/> is at the 'u'; on return at the '}').</summary>
    private static string UnicodeEscape(ReadOnlySpan<char> body, ref int i, int escapeAt, Func<int, string, Exception> error)
    {
        if (i + 1 >= body.Length || body[i + 1] != '{') throw error(escapeAt, "invalid escape '\\u': expected '\\u{XXXX}'");
        var j = i + 2;
        if (j >= body.Length) throw error(escapeAt, "invalid unicode escape: missing '}'");
        if (body[j] == '_') throw error(escapeAt, "invalid unicode escape: it cannot start with '_'");
        if (body[j] == '}') throw error(escapeAt, "invalid unicode escape: expected 1 to 6 hex digits");
        var digits = 0;
        var code = 0;
        for (; ; j++)
        {
            if (j >= body.Length) throw error(escapeAt, "invalid unicode escape: missing '}'");
            var c = body[j];
            if (c == '}') break;
            if (c == '_') continue;
            if (!Uri.IsHexDigit(c)) throw error(escapeAt, $"invalid unicode escape: '{c}' is not a hex digit");
            if (++digits <= 6) code = code * 16 + Convert.ToInt32(c.ToString(), 16);
        }
        if (digits > 6) throw error(escapeAt, "invalid unicode escape: more than 6 hex digits");
        if (code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) throw error(escapeAt, $"invalid unicode escape: U+{code:X} is not a Unicode scalar value");
        i = j;
        return char.ConvertFromUtf32(code);
    }
}
