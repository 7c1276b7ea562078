using System.Globalization;
using System.Text;

namespace RuntimeAuthz.Policy.Schema;

internal enum SchemaTokenKind { Identifier, String, Punct, End }

internal readonly record struct SchemaToken(SchemaTokenKind Kind, string Text, int Line, int Column)
{
    public bool IsPunct(string p) => Kind == SchemaTokenKind.Punct && Text == p;
    public bool IsWord(string w) => Kind == SchemaTokenKind.Identifier && Text == w;

    public string Describe() => Kind switch
    {
        SchemaTokenKind.End => "end of input",
        SchemaTokenKind.String => "a string literal",
        _ => $"'{Text}'",
    };
}

/// <summary>Splits human-readable schema text into tokens (identifiers, unescaped strings, punctuation).</summary>
internal static class SchemaLexer
{
    public static List<SchemaToken> Tokenize(string text, string sourceName)
    {
        var tokens = new List<SchemaToken>();
        int i = 0, line = 1, lineStart = 0;
        while (true)
        {
            // whitespace and // comments
            while (i < text.Length)
            {
                char c = text[i];
                if (c == '\n') { i++; line++; lineStart = i; }
                else if (char.IsWhiteSpace(c)) i++;
                else if (c == '/' && i + 1 < text.Length && text[i + 1] == '/')
                {
                    while (i < text.Length && text[i] != '\n' && text[i] != '\r') i++;
                }
                else break;
            }
            int column = i - lineStart + 1;
            if (i >= text.Length)
            {
                tokens.Add(new SchemaToken(SchemaTokenKind.End, "", line, column));
                return tokens;
            }
            char ch = text[i];
            if (ch == '_' || char.IsAsciiLetter(ch))
            {
                int start = i;
                while (i < text.Length && (text[i] == '_' || char.IsAsciiLetterOrDigit(text[i]))) i++;
                tokens.Add(new SchemaToken(SchemaTokenKind.Identifier, text[start..i], line, column));
            }
            else if (ch == '"')
            {
                int startLine = line;
                i++;
                var raw = new StringBuilder();
                while (true)
                {
                    if (i >= text.Length)
                        throw new CedarSyntaxException(sourceName, startLine, column, "unterminated string literal");
                    char s = text[i];
                    if (s == '"') { i++; break; }
                    if (s == '\\' && i + 1 < text.Length)
                    {
                        raw.Append(s).Append(text[i + 1]);
                        if (text[i + 1] == '\n') { line++; lineStart = i + 2; }
                        i += 2;
                        continue;
                    }
                    if (s == '\n') { line++; lineStart = i + 1; }
                    raw.Append(s);
                    i++;
                }
                string value = Unescape(raw.ToString(), out string? escapeError)
                    ?? throw new CedarSyntaxException(sourceName, startLine, column, escapeError ?? "invalid escape in string literal");
                tokens.Add(new SchemaToken(SchemaTokenKind.String, value, startLine, column));
            }
            else if (ch == ':' && i + 1 < text.Length && text[i + 1] == ':')
            {
                tokens.Add(new SchemaToken(SchemaTokenKind.Punct, "::", line, column));
                i += 2;
            }
            else if (",;:{}[]<>=?@()".Contains(ch))
            {
                tokens.Add(new SchemaToken(SchemaTokenKind.Punct, ch.ToString(), line, column));
                i++;
            }
            else
            {
                throw new CedarSyntaxException(sourceName, line, column, $"unexpected character '{ch}'");
            }
        }
    }

    /// <summary>Cedar string escapes: \n \r \t \\ \0 \' \" \xHH (ASCII) and \u{H..H}. Returns null on a bad escape.</summary>
    internal static string? Unescape(string raw, out string? error)
    {
        error = null;
        if (raw.IndexOf('\\') < 0) return raw;
        var sb = new StringBuilder(raw.Length);
        for (int i = 0; i < raw.Length; i++)
        {
            char c = raw[i];
            if (c != '\\') { sb.Append(c); continue; }
            if (i + 1 >= raw.Length) { error = "string ends with a lone backslash"; return null; }
            char e = raw[++i];
            switch (e)
            {
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case '\\': sb.Append('\\'); break;
                case '0': sb.Append('\0'); break;
                case '\'': sb.Append('\''); break;
                case '"': sb.Append('"'); break;
                case 'x':
                    {
                        if (i + 2 >= raw.Length || !int.TryParse(raw.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int code) || code > 0x7F)
                        { error = "invalid \\x escape (expected two hex digits up to 7F)"; return null; }
                        sb.Append((char)code);
                        i += 2;
                        break;
                    }
                case 'u':
                    {
                        if (i + 1 >= raw.Length || raw[i + 1] != '{') { error = "invalid \\u escape (expected \\u{...})"; return null; }
                        int close = raw.IndexOf('}', i + 2);
                        if (close < 0) { error = "unterminated \\u{...} escape"; return null; }
                        var hex = raw.AsSpan(i + 2, close - i - 2);
                        if (hex.Length is < 1 or > 6 || !int.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int cp)
                            || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                        { error = $"invalid unicode escape \\u{{{hex.ToString()}}}"; return null; }
                        sb.Append(char.ConvertFromUtf32(cp));
                        i = close;
                        break;
                    }
                default:
                    error = $"unknown escape sequence \\{e}";
                    return null;
            }
        }
        return sb.ToString();
    }
}
