using System.CommandLine;
using RuntimeAuthz.Cli.Infrastructure;

namespace RuntimeAuthz.Cli.Commands;

/// <summary>Policy commands that run the engine in-process and need no server.</summary>
public static class LocalPolicyCommands
{
    public static IEnumerable<Command> Create(CommandRunner runner)
    {
        _ = runner;
        return [];
    }
}
