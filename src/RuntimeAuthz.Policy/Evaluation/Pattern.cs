namespace RuntimeAuthz.Policy.Evaluation;

/// <summary>A <c>like</c> pattern: literal characters and <c>*</c> wildcards matching any sequence.</summary>
internal sealed class Pattern
{
    private readonly string text;
    private readonly bool[] wildcard;

    public Pattern(string text, IReadOnlyList<bool> wildcards)
    {
        this.text = text;
        wildcard = [.. wildcards];
    }

    /// <summary>Greedy matching with backtracking to the last star: linear in practice, never exponential.</summary>
    public bool Matches(string input)
    {
        int i = 0, p = 0, starP = -1, starI = 0;
        while (i < input.Length)
        {
            if (p < text.Length && wildcard[p])
            {
                starP = p++;
                starI = i;
            }
            else if (p < text.Length && text[p] == input[i])
            {
                p++;
                i++;
            }
            else if (starP >= 0)
            {
                p = starP + 1;
                i = ++starI;
            }
            else return false;
        }
        while (p < text.Length && wildcard[p]) p++;
        return p == text.Length;
    }
}
