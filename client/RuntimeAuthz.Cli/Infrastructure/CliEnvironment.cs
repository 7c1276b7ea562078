using RuntimeAuthz.Client;

namespace RuntimeAuthz.Cli.Infrastructure;

/// <summary>What the CLI touches outside itself, so tests can run it in-process.</summary>
public sealed class CliEnvironment
{
    public required TextWriter Output { get; init; }
    public required TextWriter Error { get; init; }
    public Func<string, string?> GetVariable { get; init; } = Environment.GetEnvironmentVariable;
    public TimeProvider Time { get; init; } = TimeProvider.System;
    public Func<Uri, AuthzClient> CreateClient { get; init; } = address => new AuthzClient(address, TimeSpan.FromSeconds(30));
    public string UserName { get; init; } = SafeUserName();

    public static CliEnvironment FromConsole() => new() { Output = Console.Out, Error = Console.Error };

    private static string SafeUserName()
    {
        try
        {
            return string.IsNullOrWhiteSpace(Environment.UserName) ? "cli" : Environment.UserName;
        }
        catch (InvalidOperationException)
        {
            return "cli";
        }
    }
}
