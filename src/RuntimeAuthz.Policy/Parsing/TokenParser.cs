namespace RuntimeAuthz.Policy.Parsing;

/// <summary>
/// The cursor the Cedar policy parser and the Dogwood temporal parser share over one token stream,
/// so look-ahead, expectations and their file:line:column errors read the same in both.
/// </summary>
internal abstract class TokenParser(List<Token> tokens, int index, string sourceName)
{
    protected readonly List<Token> tokens = tokens;
    protected readonly string sourceName = sourceName;
    protected int index = index;

    protected Token Current => tokens[index];
    protected Token Peek(int ahead = 1) => tokens[Math.Min(index + ahead, tokens.Count - 1)];
    protected Token Advance()
    {
        var token = tokens[index];
        if (index < tokens.Count - 1) index++;
        previous = token;
        return token;
    }

    private Token previous;

    /// <summary>The span from <paramref name="start"/> to the end of the last token consumed.</summary>
    protected SourceSpan SpanFrom(Token start) =>
        start.Span(sourceName).To(previous.Text is not null && previous.Offset >= start.Offset ? previous.Span(sourceName) : start.Span(sourceName));

    protected CedarSyntaxException Error(Token at, string detail) => Error(at, CedarErrorKind.UnexpectedToken, detail);

    protected CedarSyntaxException Error(Token at, CedarErrorKind kind, string detail, string? help = null) =>
        new([new CedarError(kind, at.Span(sourceName), detail, help)]);

    protected bool IsKeyword(string word) => Current.Kind == TokenKind.Identifier && Current.Text == word;

    protected Token Expect(TokenKind kind, string what, string context)
    {
        if (Current.Kind != kind) throw Error(Current, $"expected {what} {context}, found {Current.Describe()}");
        return Advance();
    }

    protected void ExpectKeyword(string word, string context)
    {
        if (!IsKeyword(word)) throw Error(Current, $"expected '{word}' {context}, found {Current.Describe()}");
        Advance();
    }
}
