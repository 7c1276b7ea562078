namespace RuntimeAuthz.Policy;

/// <summary>
/// Where a piece of Cedar source is: 1-based line and column of its first character and of the
/// position just after its last one, plus the same as character offsets into the parsed text.
/// </summary>
public readonly record struct SourceSpan(string Source, int Line, int Column, int EndLine, int EndColumn, int Offset, int EndOffset)
{
    /// <summary>The span of no source (a value built in code rather than parsed).</summary>
    public static SourceSpan None { get; } = new("", 0, 0, 0, 0, 0, 0);

    public bool IsNone => Line == 0;

    /// <summary>From the start of this span to the end of <paramref name="last"/>.</summary>
    public SourceSpan To(SourceSpan last) => this with { EndLine = last.EndLine, EndColumn = last.EndColumn, EndOffset = last.EndOffset };

    public override string ToString() => $"{Source}:{Line}:{Column}";
}
