using System.Diagnostics;
using ModelContextProtocol.Client;
using RuntimeAuthz.Incidents.Tools;

namespace RuntimeAuthz.McpGateway.Tests.Incidents;

/// <summary>The incidents' tool server over stdio, started once for the input tests, with its data in a temporary directory.</summary>
public sealed class IncidentToolServer : IAsyncLifetime
{
    public DirectoryInfo Data { get; } = Directory.CreateTempSubdirectory("incident-tools-");
    public McpClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(Path.Combine(Data.FullName, OfficeData.ContactsFile), """[{"name": "dana", "email": "dana@example.com"}]""");
        Client = await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
        {
            Command = "dotnet", Arguments = [IncidentInputTests.ProgramIn("RuntimeAuthz.Incidents.Tools.dll"), "--data", Data.FullName], Name = "office",
        }));
    }

    public async Task DisposeAsync()
    {
        await Client.DisposeAsync();
        Data.Delete(recursive: true);
    }
}

/// <summary>Bad input to the incidents' tool server and runner: a clear error, nothing done.</summary>
public sealed class IncidentInputTests(IncidentToolServer server) : IClassFixture<IncidentToolServer>
{

    [Theory]
    [InlineData("lookup_contact", """{"name": "mallory"}""", "no contact named 'mallory'")]
    [InlineData("fetch_page", """{"url": "file:///etc/passwd"}""", "is not an absolute http(s) address")]
    [InlineData("send_email", """{"to": "nobody", "subject": "s", "body": "b"}""", "'nobody' is not an email address")]
    [InlineData("wire_money", """{"account": "acme", "amount": 0, "reference": "r"}""", "the amount must be positive")]
    public async Task A_tool_given_bad_arguments_answers_an_error_and_does_nothing(string tool, string arguments, string message)
    {
        var parsed = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, object?>>(arguments)!;

        var result = await server.Client.CallToolAsync(tool, parsed);

        Assert.True(result.IsError);
        Assert.Contains(message, RuntimeAuthz.Incidents.Walkthrough.TextOf(result), StringComparison.Ordinal);
        Assert.Empty(OfficeData.Outbox(server.Data.FullName));
        Assert.Empty(OfficeData.Ledger(server.Data.FullName));
    }

    [Theory]
    [InlineData("RuntimeAuthz.Incidents.Tools.dll", "--data /nonexistent", "--data <directory> is required and must hold contacts.json")]
    [InlineData("RuntimeAuthz.Incidents.dll", "ftp://127.0.0.1", "'ftp://127.0.0.1' is not the silo's http(s) address")]
    [InlineData("RuntimeAuthz.Incidents.dll", "http://127.0.0.1:9 /nonexistent", "is not the repository's examples directory")]
    public async Task A_program_given_bad_arguments_says_so_and_exits_1(string program, string arguments, string message)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = true };
        start.ArgumentList.Add(ProgramIn(program));
        foreach (var argument in arguments.Split(' ')) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        process.StandardInput.Close();

        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(1, process.ExitCode);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    internal static string ProgramIn(string file) => Path.Combine(AppContext.BaseDirectory, file);
}
