using RuntimeAuthz.Cli.Infrastructure;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.Cli.Tests;

/// <summary>Runs the CLI in-process against a <see cref="ScriptedHandler"/>, capturing its output.</summary>
internal sealed class CliHarness
{
    public ScriptedHandler Handler { get; } = new();
    public Dictionary<string, string> Variables { get; } = new(StringComparer.Ordinal);
    public List<Uri> AddressesUsed { get; } = [];
    public DateTimeOffset Now { get; set; } = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    public async Task<CliResult> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var environment = new CliEnvironment
        {
            Output = output,
            Error = error,
            GetVariable = name => Variables.GetValueOrDefault(name),
            Time = new FixedTime(Now),
            UserName = "tester",
            CreateClient = address =>
            {
                AddressesUsed.Add(address);
                return new AuthzClient(new HttpClient(Handler) { BaseAddress = address });
            },
        };
        var exitCode = await CliApp.RunAsync(args, environment);
        return new CliResult(exitCode, output.ToString(), error.ToString());
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}

internal sealed record CliResult(int ExitCode, string Output, string Error)
{
    public string[] OutputLines => Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.TrimEnd('\r')).ToArray();
}
