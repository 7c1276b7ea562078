namespace RuntimeAuthz.Cli.Tests;

/// <summary>
/// <c>authz demo incidents</c> starts examples/incidents/run with the service address and passes its output and exit
/// status through. The real walk-throughs run in tests/RuntimeAuthz.McpGateway.Tests; here a stand-in script in a
/// temporary examples directory shows what the CLI hands it and what it passes back.
/// </summary>
public sealed class DemoCommandTests : IDisposable
{
    private readonly DirectoryInfo _examples = Directory.CreateTempSubdirectory("authz-demo-examples-");

    [Fact]
    public async Task Demo_incidents_runs_the_script_with_the_service_address_and_passes_its_output_and_exit_status_through()
    {
        WriteScript("""
            echo "url=$AUTHZ_URL"
            echo "a step came out otherwise" >&2
            exit 2
            """);
        using var cli = new CliHarness();

        var result = await cli.RunAsync("demo", "incidents", "--examples", _examples.FullName, "--url", "http://127.0.0.1:5999");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(["url=http://127.0.0.1:5999/"], result.OutputLines);
        Assert.Equal("a step came out otherwise", result.Error.Trim());
    }

    [Fact]
    public async Task Demo_incidents_without_the_walkthroughs_says_where_it_looked()
    {
        using var cli = new CliHarness();

        var result = await cli.RunAsync("demo", "incidents", "--examples", _examples.FullName);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("has no incidents/run", result.Error, StringComparison.Ordinal);
        Assert.Equal("", result.Output);
    }

    [Fact]
    public async Task Demo_of_something_unknown_is_a_usage_error()
    {
        using var cli = new CliHarness();

        var result = await cli.RunAsync("demo", "heists");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("heists", result.Error + result.Output, StringComparison.Ordinal);
    }

    private void WriteScript(string body)
    {
        var script = Path.Combine(Directory.CreateDirectory(Path.Combine(_examples.FullName, "incidents")).FullName, "run");
        File.WriteAllText(script, "#!/usr/bin/env bash\n" + body + "\n");
        // The script is run as a program, as examples/incidents/run is (the repository's scripts are bash).
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public void Dispose() => _examples.Delete(recursive: true);
}
