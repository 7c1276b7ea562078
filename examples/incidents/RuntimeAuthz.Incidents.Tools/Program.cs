using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RuntimeAuthz.Incidents.Tools;

// The office tools as an MCP server over stdio: dotnet RuntimeAuthz.Incidents.Tools.dll --data <directory>
// The directory holds contacts.json (what lookup_contact answers) and receives outbox/ (sent mail) and ledger.jsonl (wires).
var data = args.SkipWhile(a => a != "--data").Skip(1).FirstOrDefault();
if (data is null || !File.Exists(Path.Combine(data, OfficeData.ContactsFile)))
{
    Console.Error.WriteLine($"incident tools: --data <directory> is required and must hold {OfficeData.ContactsFile}");
    return 1;
}

var builder = Host.CreateApplicationBuilder([]);
// stdout carries the protocol: every log line goes to stderr.
builder.Logging.ClearProviders();
builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton(new OfficeData(Path.GetFullPath(data)));
builder.Services.AddSingleton(new HttpClient { Timeout = TimeSpan.FromSeconds(10) });
builder.Services.AddMcpServer(o => o.ServerInfo = new() { Name = "runtimeauthz-incident-tools", Version = "1.0" })
    .WithStdioServerTransport()
    .WithTools<OfficeTools>();
await builder.Build().RunAsync();
return 0;
