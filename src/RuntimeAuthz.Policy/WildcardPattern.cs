using System.Text;

namespace RuntimeAuthz.Policy;

/// <summary>
/// A pattern of literal characters and <c>*</c> wildcards (each matching any sequence, also empty): Cedar's
/// <c>like</c> and the glob of delegation resource patterns. Matching never backtracks: the literal runs
/// between wildcards are found left to right, each at its first occurrence after the previous one (with
/// only <c>*</c> as a wildcard the leftmost occurrence is always a safe choice), so one match costs at most
/// input length × pattern length character comparisons, and for a bounded pattern is linear in the input.
/// </summary>
public sealed class WildcardPattern
{
    // The literal runs: before the first wildcard, between wildcards, after the last one.
    private readonly string[] runs;

    public WildcardPattern(string literal, IReadOnlyList<bool> wildcards)
    {
        ArgumentNullException.ThrowIfNull(literal);
        ArgumentNullException.ThrowIfNull(wildcards);
        if (wildcards.Count != literal.Length) throw new ArgumentException("one wildcard flag per character of the literal", nameof(wildcards));
        var found = new List<string>();
        var run = new StringBuilder();
        for (var i = 0; i < literal.Length; i++)
        {
            if (!wildcards[i])
            {
                run.Append(literal[i]);
                continue;
            }
            found.Add(run.ToString());
            run.Clear();
            WildcardCount++;
        }
        found.Add(run.ToString());
        runs = [.. found];
        LiteralLength = literal.Length - WildcardCount;
    }

    /// <summary>How many <c>*</c> the pattern holds.</summary>
    public int WildcardCount { get; }

    /// <summary>How many literal characters the pattern holds.</summary>
    public int LiteralLength { get; }

    /// <summary>
    /// A glob as delegation resource patterns write it: <c>*</c> is a wildcard, <c>\*</c> a literal star,
    /// <c>\n</c>, <c>\t</c>, <c>\r</c>, <c>\0</c> control characters, and a backslash before anything else that character.
    /// </summary>
    public static WildcardPattern FromGlob(string glob)
    {
        ArgumentNullException.ThrowIfNull(glob);
        var literal = new StringBuilder(glob.Length);
        var wildcards = new List<bool>(glob.Length);
        for (var i = 0; i < glob.Length; i++)
        {
            var c = glob[i];
            if (c == '\\' && i + 1 < glob.Length)
            {
                var escaped = glob[++i];
                literal.Append(escaped switch { 'n' => '\n', 't' => '\t', 'r' => '\r', '0' => '\0', _ => escaped });
                wildcards.Add(false);
            }
            else
            {
                literal.Append(c);
                wildcards.Add(c == '*');
            }
        }
        return new WildcardPattern(literal.ToString(), wildcards);
    }

    public bool Matches(ReadOnlySpan<char> input)
    {
        var first = runs[0];
        if (runs.Length == 1) return input.SequenceEqual(first);
        var last = runs[^1];
        if (input.Length < first.Length + last.Length || !input.StartsWith(first) || !input.EndsWith(last)) return false;
        // The middle runs must fit, in order and without overlapping, between the first and the last.
        var rest = input[first.Length..^last.Length];
        for (var r = 1; r < runs.Length - 1; r++)
        {
            var run = runs[r];
            if (run.Length == 0) continue;
            var at = rest.IndexOf(run, StringComparison.Ordinal);
            if (at < 0) return false;
            rest = rest[(at + run.Length)..];
        }
        return true;
    }
}
