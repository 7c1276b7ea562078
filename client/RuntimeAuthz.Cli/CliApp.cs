using System.CommandLine;
using RuntimeAuthz.Cli.Commands;
using RuntimeAuthz.Cli.Infrastructure;

namespace RuntimeAuthz.Cli;

/// <summary>The <c>authz</c> command tree.</summary>
public static class CliApp
{
    public static RootCommand Build(CliEnvironment environment)
    {
        var runner = new CommandRunner(environment);
        var root = new RootCommand(
            "authz: manage and query RuntimeAuthz.Cluster, the runtime authorization layer for AI-agent fleets.\n" +
            "Exit codes: 0 success (check: Allow), 1 error, 2 Deny, 3 ApprovalRequired.")
        {
            runner.UrlOption,
            runner.JsonOption,
            runner.TokenOption,
            runner.AsOption,
        };
        root.Subcommands.Add(AgentCommands.Create(runner));
        root.Subcommands.Add(SessionCommands.Create(runner));
        root.Subcommands.Add(PolicyCommands.Create(runner));
        root.Subcommands.Add(CheckCommand.Create(runner));
        root.Subcommands.Add(EvaluateCommand.Create(runner));
        root.Subcommands.Add(HealthCommand.Create(runner));
        foreach (var governance in GovernanceCommands.Create(runner)) root.Subcommands.Add(governance);
        root.Subcommands.Add(EvidenceCommands.Create(runner));
        foreach (var identity in IdentityCommands.Create(runner)) root.Subcommands.Add(identity);
        root.Subcommands.Add(ApprovalCommands.Create(runner));
        root.Subcommands.Add(CatalogCommands.Create(runner));
        root.Subcommands.Add(DemoCommands.Create(runner));
        root.Subcommands.Add(EntityCommands.Create(runner));
        root.Subcommands.Add(AuthZenCommands.Create(runner));
        return root;
    }

    public static Task<int> RunAsync(string[] args, CliEnvironment environment, CancellationToken cancellationToken = default)
    {
        var parseResult = Build(environment).Parse(args);
        var configuration = new InvocationConfiguration
        {
            Output = environment.Output,
            Error = environment.Error,
            EnableDefaultExceptionHandler = false,
        };
        return parseResult.InvokeAsync(configuration, cancellationToken);
    }
}
