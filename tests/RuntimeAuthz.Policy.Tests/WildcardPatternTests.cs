using CsCheck;

namespace RuntimeAuthz.Policy.Tests;

/// <summary>
/// <see cref="WildcardPattern"/> (Cedar <c>like</c> and grant globs) matches exactly what <c>*</c> means, and the
/// patterns that made the old regular expression backtrack are decided in one pass.
/// </summary>
public sealed class WildcardPatternTests
{
    /// <summary>The definition: <c>*</c> matches any sequence; by dynamic programming over prefixes of both.</summary>
    private static bool Reference(IReadOnlyList<(char Char, bool Star)> pattern, string input)
    {
        var matches = new bool[pattern.Count + 1, input.Length + 1];
        matches[0, 0] = true;
        for (var p = 1; p <= pattern.Count; p++)
        {
            for (var i = 0; i <= input.Length; i++)
            {
                var (c, star) = pattern[p - 1];
                matches[p, i] = star
                    ? matches[p - 1, i] || (i > 0 && matches[p, i - 1])
                    : i > 0 && matches[p - 1, i - 1] && input[i - 1] == c;
            }
        }
        return matches[pattern.Count, input.Length];
    }

    private static List<(char, bool)> Parts(string glob) => glob.Select(c => (c, c == '*')).ToList();

    private static readonly Gen<string> Globs = Gen.String[Gen.Char["ab*"], 0, 10];
    private static readonly Gen<string> Ids = Gen.String[Gen.Char["ab"], 0, 14];

    [Fact]
    public void A_glob_matches_exactly_the_ids_the_definition_of_star_matches() =>
        Gen.Select(Globs, Ids).Sample((glob, id) => Reference(Parts(glob), id) == WildcardPattern.FromGlob(glob).Matches(id), iter: 20_000);

    [Fact]
    public void Cedar_like_agrees_with_the_definition_also_for_escaped_stars()
    {
        // Pattern parts: 'a', 'b', a wildcard, or a literal star (written \* in Cedar).
        var parts = Gen.Int[0, 3].Select(k => k switch { 0 => ('a', false), 1 => ('b', false), 2 => ('*', true), _ => ('*', false) }).List[0, 8];
        var inputs = Gen.String[Gen.Char["ab*"], 0, 12];
        Gen.Select(parts, inputs).Sample((pattern, input) =>
        {
            var written = string.Concat(pattern.Select(p => p.Item2 ? "*" : p.Item1 == '*' ? "\\*" : p.Item1.ToString()));
            var cedar = Cedar.Eval($"\"{input}\" like \"{written}\"");
            return cedar.Equals(BoolValue.Of(Reference(pattern, input)));
        }, iter: 5_000);
    }

    [Theory]
    [InlineData("*/*/*/*/*.pdf", 100, "a/", "x.txt", false)]
    [InlineData("*/*/*/*/*.pdf", 100, "a/", "x.pdf", true)]
    public void The_backtracking_globs_of_the_probe_decide_in_one_pass(string glob, int repeat, string unit, string tail, bool expected) =>
        Assert.Equal(expected, WildcardPattern.FromGlob(glob).Matches(string.Concat(Enumerable.Repeat(unit, repeat)) + tail));

    [Fact]
    public void Many_stars_before_a_missing_literal_do_not_match_and_the_same_with_it_do()
    {
        var glob = WildcardPattern.FromGlob(string.Concat(Enumerable.Repeat("*a", 30)) + "b");

        Assert.False(glob.Matches(new string('a', 40)));
        Assert.True(glob.Matches(new string('a', 39) + "b"));
        Assert.False(glob.Matches(new string('a', 29) + "b"));
        Assert.Equal(30, glob.WildcardCount);
        Assert.Equal(31, glob.LiteralLength);
    }

    [Theory]
    [InlineData(@"a\*b", "a*b", true)]
    [InlineData(@"a\*b", "axb", false)]
    [InlineData(@"a\\*", @"a\zz", true)]
    [InlineData(@"line\nend*", "line\nend!", true)]
    [InlineData("", "", true)]
    [InlineData("", "x", false)]
    [InlineData("**", "", true)]
    [InlineData("a*a", "a", false)]
    public void Escapes_in_a_glob_are_literal_characters(string glob, string id, bool expected) =>
        Assert.Equal(expected, WildcardPattern.FromGlob(glob).Matches(id));
}

/// <summary>A decision spends at most its evaluation budget; past it the answer is Deny, whatever was found so far.</summary>
public sealed class EvaluationBudgetTests
{
    private static AuthorizationResponse Decide(string policies, string text, long budget = Authorizer.DefaultEvaluationBudget) =>
        Authorizer.IsAuthorized(
            new AuthorizationRequest(new EntityUid("User", "alice"), new EntityUid("Action", "view"), new EntityUid("Doc", "d1"),
                CedarContext.FromJson(System.Text.Json.JsonSerializer.Serialize(new { text }))),
            PolicySet.Parse(policies), EntityStore.Empty, budget);

    [Fact]
    public void A_like_over_an_input_past_the_budget_denies_with_the_budget_error()
    {
        const string policies = """permit (principal, action, resource) when { context.text like "*a*b" };""";
        var text = new string('a', 5_000) + "b";

        var within = Decide(policies, text);
        var past = Decide(policies, text, budget: 10_000);

        Assert.Equal(Decision.Allow, within.Decision);
        Assert.False(within.BudgetExceeded);
        Assert.Equal(Decision.Deny, past.Decision);
        Assert.True(past.BudgetExceeded);
        Assert.Equal(CedarErrorKind.BudgetExceeded, Assert.Single(past.Errors).Kind);
    }

    [Fact]
    public void A_permit_found_before_the_budget_ran_out_does_not_allow()
    {
        // The permit is cheap and evaluated first; the forbid that might apply is what spends the budget.
        const string policies = """
            permit (principal, action, resource);
            forbid (principal, action, resource) when { context.text like "*x*y*z" };
            """;

        var past = Decide(policies, new string('a', 10_000), budget: 1_000);

        Assert.Equal(Decision.Deny, past.Decision);
        Assert.Empty(past.Reasons);
        Assert.True(past.BudgetExceeded);
    }
}
