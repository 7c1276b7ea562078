using Microsoft.Extensions.Time.Testing;
using RuntimeAuthz.Cli.Infrastructure;

namespace RuntimeAuthz.Cli.Tests;

/// <summary>
/// The one way the tests run the CLI: in-process, capturing its output, with only the environment variables in
/// <see cref="Variables"/> (never the test process's own). By default against a <see cref="ScriptedHandler"/> on a
/// fake clock, with a token in AUTHZ_TOKEN (tests of token sourcing remove it) and the profile in a private temporary
/// directory, never in the user's home; <see cref="Against"/> runs it against a real service instead.
/// </summary>
internal sealed class CliHarness : IDisposable
{
    public const string Token = "harness-token";

    private readonly DirectoryInfo _home = Directory.CreateTempSubdirectory("authz-cli-home-");

    /// <summary>The real service the CLI talks to (<c>--url</c>), or null for the scripted handler.</summary>
    private readonly Uri? _service;

    public CliHarness()
    {
        Variables["AUTHZ_TOKEN"] = Token;
        Variables["AUTHZ_PROFILE"] = ProfilePath;
    }

    private CliHarness(Uri service) => _service = service;

    /// <summary>
    /// The CLI against a real service (its address as <c>--url</c>): real HTTP, the real clock, and no variables
    /// until a test sets them (so no token and no profile: the CLI asks the service's development issuer).
    /// </summary>
    public static CliHarness Against(Uri service) => new(service);

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
        var time = _service is null ? new FakeTimeProvider(Now) : null;
        var environment = new CliEnvironment
        {
            Output = output,
            Error = error,
            GetVariable = name => Variables.GetValueOrDefault(name),
            Time = time ?? TimeProvider.System,
            CreateHttpClient = _service is null ? () => new HttpClient(Handler, disposeHandler: false) : () => new HttpClient { Timeout = TimeSpan.FromSeconds(30) },
            RedirectedInput = () => StandardInput is null ? null : new StringReader(StandardInput),
            Delay = time is null ? null : (span, _) =>
            {
                Delays.Add(span);
                time.Advance(span);
                return Task.CompletedTask;
            },
        };
        var exitCode = await CliApp.RunAsync(_service is null ? args : [.. args, "--url", _service.ToString()], environment);
        return new CliResult(exitCode, output.ToString(), error.ToString());
    }

    public void Dispose() => _home.Delete(recursive: true);
}

internal sealed record CliResult(int ExitCode, string Output, string Error)
{
    public string[] OutputLines => Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.TrimEnd('\r')).ToArray();
}
