using System.Text;
using System.Text.RegularExpressions;

namespace RuntimeAuthz.Cli.Tests.EndToEnd;

/// <summary>
/// Every <c>./authz</c> line of the README's "Try it" section, as written, in order, through the CLI
/// against the end-to-end silo (Development, development issuer: what <c>./start</c> runs). A line's
/// expected exit code is the "(exit code N)" of its trailing comment or of the comment line before
/// it; every other line must succeed (0).
/// </summary>
[Collection(RealSiloCollection.Name)]
public sealed partial class ReadmeExamplesTests(RealSilo silo)
{
    internal sealed record Example(int Line, string Text, string? AssignTo, IReadOnlyList<string> Arguments, int ExpectedExitCode);

    [Fact]
    public async Task Every_Try_it_example_runs_as_written_with_its_documented_exit_code()
    {
        var examples = TryItExamples(File.ReadAllLines(Path.Combine(RealSilo.RepoRoot, "README.md")));
        Assert.True(examples.Count >= 30, $"expected the README's Try-it examples, found {examples.Count}");
        Assert.Contains(examples, example => example.Arguments.SequenceEqual(["whoami"]));
        Assert.Contains(examples, example => example.Arguments.Take(2).SequenceEqual(["--as", "governance"]));
        Assert.Contains(examples, example => example.Arguments.Take(2).SequenceEqual(["--as", "approver"]));
        Assert.Contains(examples, example => example.Arguments.Take(2).SequenceEqual(["--as", "agent:demo-agent"]));

        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        var failures = new List<string>();
        foreach (var example in examples)
        {
            var arguments = example.Arguments.Select(argument => Expand(argument, variables)).Select(InRepository).ToArray();
            var result = await silo.Authz(arguments);
            if (result.ExitCode != example.ExpectedExitCode)
            {
                failures.Add($"README.md:{example.Line}: exit {result.ExitCode}, documented {example.ExpectedExitCode}: {example.Text}\n  {result.Error.Trim()}");
            }
            if (example.AssignTo is { } name)
            {
                variables[name] = result.OutputLines.FirstOrDefault() ?? string.Empty;
            }
        }
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Fact]
    public void The_example_reader_understands_the_shell_the_README_uses()
    {
        var examples = TryItExamples(
        [
            "## Try it", "```",
            "# a payment: ApprovalRequired (exit code 3)",
            "./authz check --resource 'Account::\"acme\"' --input '{\"amount\": 500}'",
            "./authz agents suspend demo-agent --reason \"incident 42\"   # Deny (exit code 2)",
            "SID=$(./authz sessions open --agent demo-agent | head -1)",
            "./authz sessions show \"$SID\"                  # state, risk, timeline",
            "```", "## Configuration", "```", "./authz not-in-try-it", "```",
        ]);

        Assert.Equal(4, examples.Count);
        Assert.Equal(["check", "--resource", "Account::\"acme\"", "--input", "{\"amount\": 500}"], examples[0].Arguments);
        Assert.Equal(3, examples[0].ExpectedExitCode);
        Assert.Equal(["agents", "suspend", "demo-agent", "--reason", "incident 42"], examples[1].Arguments);
        Assert.Equal(2, examples[1].ExpectedExitCode);
        Assert.Equal("SID", examples[2].AssignTo);
        Assert.Equal(["sessions", "open", "--agent", "demo-agent"], examples[2].Arguments);
        Assert.Equal(["sessions", "show", "$SID"], examples[3].Arguments);
        Assert.Equal(0, examples[3].ExpectedExitCode);
        Assert.Equal("s-1", Expand(examples[3].Arguments[2], new Dictionary<string, string> { ["SID"] = "s-1" }));
    }

    internal static List<Example> TryItExamples(IReadOnlyList<string> readme)
    {
        var examples = new List<Example>();
        var inSection = false;
        var inCode = false;
        int? expectedFromComment = null;
        for (var index = 0; index < readme.Count; index++)
        {
            var line = readme[index].Trim();
            if (line.StartsWith("## ", StringComparison.Ordinal))
            {
                inSection = line == "## Try it";
                continue;
            }
            if (!inSection)
            {
                continue;
            }
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                inCode = !inCode;
                expectedFromComment = null;
                continue;
            }
            if (!inCode || line.Length == 0)
            {
                continue;
            }
            if (line.StartsWith('#'))
            {
                expectedFromComment = ExitCodeIn(line);
                continue;
            }
            var (command, comment) = SplitComment(line);
            var assignTo = (string?)null;
            if (Assignment().Match(command) is { Success: true } assignment)
            {
                assignTo = assignment.Groups["name"].Value;
                command = assignment.Groups["command"].Value;
            }
            var words = ShellWords(command);
            Assert.True(words.Count > 0 && words[0] == "./authz", $"README.md:{index + 1}: a Try-it line that is not an ./authz command: {line}");
            examples.Add(new Example(index + 1, line, assignTo, words.Skip(1).ToArray(), ExitCodeIn(comment) ?? expectedFromComment ?? 0));
            expectedFromComment = null;
        }
        return examples;
    }

    private static int? ExitCodeIn(string? comment) =>
        comment is not null && ExitCode().Match(comment) is { Success: true } match ? int.Parse(match.Groups["code"].Value, System.Globalization.CultureInfo.InvariantCulture) : null;

    /// <summary>The command and its trailing <c># comment</c> (a # outside quotes after whitespace).</summary>
    private static (string Command, string? Comment) SplitComment(string line)
    {
        char? quote = null;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (c == '\\' && quote != '\'') i++; // an escaped character never opens, closes or comments
            else if (quote is null && c is '\'' or '"') quote = c;
            else if (c == quote) quote = null;
            else if (quote is null && c == '#' && i > 0 && char.IsWhiteSpace(line[i - 1])) return (line[..i].TrimEnd(), line[(i + 1)..]);
        }
        return (line, null);
    }

    /// <summary>
    /// POSIX-shell words: single quotes literal, double quotes group, a backslash escapes the next character
    /// (inside double quotes only <c>" \ $ `</c>); variables stay as <c>$NAME</c> for <see cref="Expand"/>.
    /// </summary>
    private static List<string> ShellWords(string command)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        char? quote = null;
        for (var i = 0; i < command.Length; i++)
        {
            var c = command[i];
            if (c == '\\' && quote != '\'' && i + 1 < command.Length && (quote is null || command[i + 1] is '"' or '\\' or '$' or '`'))
            {
                word.Append(command[++i]);
                inWord = true;
            }
            else if (quote is not null)
            {
                if (c == quote) quote = null;
                else word.Append(c);
            }
            else if (c is '\'' or '"')
            {
                quote = c;
                inWord = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord) words.Add(word.ToString());
                word.Clear();
                inWord = false;
            }
            else
            {
                word.Append(c);
                inWord = true;
            }
        }
        Assert.True(quote is null, $"unbalanced quote in: {command}");
        if (inWord) words.Add(word.ToString());
        return words;
    }

    private static string Expand(string word, IReadOnlyDictionary<string, string> variables) =>
        Variable().Replace(word, match => variables.TryGetValue(match.Groups["name"].Value, out var value)
            ? value
            : throw new InvalidOperationException($"README uses ${match.Groups["name"].Value} before setting it"));

    // The README's relative paths are relative to the repository root, where ./authz runs.
    private static string InRepository(string argument) =>
        !argument.StartsWith('-') && argument.Contains('/', StringComparison.Ordinal) && File.Exists(Path.Combine(RealSilo.RepoRoot, argument))
            ? Path.Combine(RealSilo.RepoRoot, argument)
            : argument;

    [GeneratedRegex(@"\(exit code (?<code>\d+)\)")]
    private static partial Regex ExitCode();

    [GeneratedRegex(@"^(?<name>[A-Z_][A-Z0-9_]*)=\$\((?<command>.+?)\s*\|\s*head -1\)$")]
    private static partial Regex Assignment();

    [GeneratedRegex(@"\$(?<name>[A-Z_][A-Z0-9_]*)")]
    private static partial Regex Variable();
}
