namespace RuntimeAuthz.Cli.Infrastructure;

/// <summary>What the CLI touches outside itself, so tests can run it in-process.</summary>
public sealed class CliEnvironment
{
    public required TextWriter Output { get; init; }
    public required TextWriter Error { get; init; }
    public Func<string, string?> GetVariable { get; init; } = Environment.GetEnvironmentVariable;
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>One client per run, for the service and for issuers (tests hand in a scripted handler).</summary>
    public Func<HttpClient> CreateHttpClient { get; init; } = () => new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>Standard input when it is redirected (a secret piped in), else null: the CLI never waits on a terminal.</summary>
    public Func<TextReader?> RedirectedInput { get; init; } = () => Console.IsInputRedirected ? Console.In : null;

    /// <summary>Waits between device-code polls.</summary>
    public Func<TimeSpan, CancellationToken, Task>? Delay { get; init; }

    public static CliEnvironment FromConsole() => new() { Output = Console.Out, Error = Console.Error };
}
