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
                        throw new CedarSyntaxException(CedarErrorKind.UnterminatedString, sourceName, startLine, column, "unterminated string literal");
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
                string value = Parsing.Lexer.UnescapeBody(raw.ToString(), pattern: false, null,
                    (_, detail) => new CedarSyntaxException(CedarErrorKind.InvalidEscape, sourceName, startLine, column, detail));
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
                throw new CedarSyntaxException(CedarErrorKind.UnexpectedCharacter, sourceName, line, column, $"unexpected character '{ch}'");
            }
        }
    }
}
