using System.CommandLine;
using System.ComponentModel;
using System.Diagnostics;
using RuntimeAuthz.Cli.Infrastructure;

namespace RuntimeAuthz.Cli.Commands;

/// <summary>
/// <c>authz demo incidents</c>: runs the repository's incident walk-throughs (<c>examples/incidents/run</c>) against the
/// service. The walk-throughs host the MCP gateway and its tool servers themselves, so the CLI only starts the script,
/// hands it the service address (<c>AUTHZ_URL</c>) and passes its output and exit status through.
/// </summary>
public static class DemoCommands
{
    private const string ScriptPath = "incidents/run";

    public static Command Create(CommandRunner runner)
    {
        var demo = new Command("demo", "Run the repository's demos against a development silo (./start)");
        var examples = new Option<string?>("--examples")
        {
            Description = "The repository's examples directory (default: the one above the CLI, else above the current directory)",
        };
        var incidents = new Command("incidents",
            "The incident walk-throughs (examples/incidents): scripted agents call real MCP tools through the MCP gateway; " +
            "prints every step's decision. Exit 0 when every step came out as the walk-through expects, 2 when one did not.")
        {
            examples,
        };
        runner.SetAction(incidents, (call, cancellationToken) => RunAsync(call, FindScript(call.Get(examples)), cancellationToken));
        demo.Subcommands.Add(incidents);
        return demo;
    }

    private static string FindScript(string? examples)
    {
        if (examples is not null)
        {
            var given = Path.GetFullPath(Path.Combine(examples, ScriptPath));
            return File.Exists(given) ? given : throw new UserInputException($"'{examples}' has no {ScriptPath}: give the repository's examples directory");
        }
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                var candidate = Path.Combine(directory.FullName, "examples", ScriptPath);
                if (File.Exists(candidate)) return candidate;
            }
        }
        throw new UserInputException($"examples/{ScriptPath} not found above the CLI or the current directory: run it from the repository, or give --examples");
    }

    private static async Task<int> RunAsync(Invocation call, string script, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(script)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(script)!,
        };
        start.Environment["AUTHZ_URL"] = call.ServiceAddress.ToString();
        using var process = new Process { StartInfo = start };
        var writing = new Lock();
        process.OutputDataReceived += (_, line) => Write(call.Output, line.Data, writing);
        process.ErrorDataReceived += (_, line) => Write(call.Error, line.Data, writing);
        try
        {
            process.Start();
        }
        catch (Win32Exception failure)
        {
            throw new UserInputException($"cannot run {script}: {failure.Message}");
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        // Drain the last lines still in flight.
        process.WaitForExit();
        return process.ExitCode;
    }

    private static void Write(TextWriter to, string? line, Lock writing)
    {
        if (line is null) return;
        lock (writing) to.WriteLine(line);
    }
}
