using Microsoft.Extensions.Time.Testing;
using RuntimeAuthz.Cli.Infrastructure;

namespace RuntimeAuthz.Cli.Tests;

/// <summary>
/// Runs the CLI in-process against a <see cref="ScriptedHandler"/>, capturing its output. A token is
/// configured through AUTHZ_TOKEN (tests of token sourcing remove it), and the profile lives in a
/// private temporary directory, never in the user's home.
/// </summary>
internal sealed class CliHarness : IDisposable
{
    public const string Token = "harness-token";

    private readonly DirectoryInfo _home = Directory.CreateTempSubdirectory("authz-cli-home-");

    public CliHarness()
    {
        Variables["AUTHZ_TOKEN"] = Token;
        Variables["AUTHZ_PROFILE"] = ProfilePath;
    }

    public ScriptedHandler Handler { get; } = new();
    public Dictionary<string, string> Variables { get; } = new(StringComparer.Ordinal);
    public DateTimeOffset Now { get; set; } = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    public string ProfilePath => Path.Combine(_home.FullName, "config", "profile.json");

    /// <summary>What standard input holds when redirected (null: a terminal).</summary>
    public string? StandardInput { get; set; }

    /// <summary>The waits the CLI asked for (device-code polling); each advances the clock.</summary>
    public List<TimeSpan> Delays { get; } = [];

    /// <summary>The service addresses the CLI talked to, one per request.</summary>
    public IEnumerable<string> AddressesUsed => Handler.Requests.Select(request => request.Url.GetLeftPart(UriPartial.Authority) + "/");

    public async Task<CliResult> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var time = new FakeTimeProvider(Now);
        var environment = new CliEnvironment
        {
            Output = output,
            Error = error,
            GetVariable = name => Variables.GetValueOrDefault(name),
            Time = time,
            CreateHttpClient = () => new HttpClient(Handler, disposeHandler: false),
            RedirectedInput = () => StandardInput is null ? null : new StringReader(StandardInput),
            Delay = (span, _) =>
            {
                Delays.Add(span);
                time.Advance(span);
                return Task.CompletedTask;
            },
        };
        var exitCode = await CliApp.RunAsync(args, environment);
        return new CliResult(exitCode, output.ToString(), error.ToString());
    }

    public void Dispose() => _home.Delete(recursive: true);
}

internal sealed record CliResult(int ExitCode, string Output, string Error)
{
    public string[] OutputLines => Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.TrimEnd('\r')).ToArray();
}
