using System.CommandLine;
using RuntimeAuthz.Cli.Infrastructure;
using RuntimeAuthz.Replay.PolicyTests;

namespace RuntimeAuthz.Cli.Commands;

/// <summary><c>authz policies test &lt;dir&gt;</c>: runs policy test suites (<c>*.cedartest.json</c>) locally, with the engine the silos run.</summary>
public static class PolicyTestCommand
{
    public static Command Create(CommandRunner runner)
    {
        var path = new Argument<string>("path") { Description = $"A folder (searched recursively for *{PolicySuite.FileSuffix}) or one suite file" };
        var junit = new Option<FileInfo?>("--junit") { Description = "Also write the results as JUnit XML to this file (for CI systems)" };
        var command = new Command("test", "Run policy test suites: one line per failing case (file:line:column), then 'policy tests: N passed, M failed'; exit 1 on any failure")
        {
            path, junit,
        };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var root = call.Required(path);
            if (PolicySuite.Find(root).Count == 0)
                throw new UserInputException($"no policy test suites (*{PolicySuite.FileSuffix}) found at {root}");
            var results = await PolicySuiteRunner.RunAllAsync(root, policyOverride: null, cancellationToken).ConfigureAwait(false);
            if (call.Get(junit) is { } report)
            {
                if (report.Directory is { Exists: false } folder) folder.Create();
                await using var stream = File.Create(report.FullName);
                await JUnitReport.Build(results).SaveAsync(stream, System.Xml.Linq.SaveOptions.None, cancellationToken).ConfigureAwait(false);
            }
            var passed = results.Sum(r => r.Passed);
            var failed = results.Sum(r => r.Failed);
            if (call.Json)
            {
                Display.Json(call.Output, new
                {
                    passed, failed,
                    suites = results.Select(r => new
                    {
                        file = r.File, error = r.Error?.Message,
                        cases = r.Cases.Select(c => new { name = c.Name, location = c.Location.ToString(), passed = c.Passed, failure = c.Failure }),
                    }),
                });
            }
            else
            {
                foreach (var suite in results)
                {
                    if (suite.Error is { } error) call.Output.WriteLine($"{error.Message} (suite not run)");
                    foreach (var failure in suite.Cases.Where(c => !c.Passed)) call.Output.WriteLine($"{failure.Location}: FAIL {failure.Name}: {failure.Failure}");
                }
                call.Output.WriteLine($"policy tests: {passed} passed, {failed} failed");
            }
            return failed == 0 ? ExitCodes.Success : ExitCodes.Error;
        });
        return command;
    }
}
