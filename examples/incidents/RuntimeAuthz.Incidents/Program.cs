using System.Text.Json.Nodes;
using RuntimeAuthz.Client;
using RuntimeAuthz.Incidents;
using RuntimeAuthz.McpGateway;

// Runs the incident walk-throughs against a development silo (./start): the incidents' policies published next to the
// example policy, the MCP gateway and its tool servers started here on loopback (the gateway as pep:* from the silo's
// development issuer), each agent an MCP client with its own development token, every step's decision printed.
// Arguments: [silo URL (default $AUTHZ_URL or http://127.0.0.1:5080)] [examples directory].
var address = args.Length > 0 ? args[0] : Environment.GetEnvironmentVariable("AUTHZ_URL") ?? "http://127.0.0.1:5080";
if (!Uri.TryCreate(address, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
{
    Console.Error.WriteLine($"incidents: '{address}' is not the silo's http(s) address");
    return 1;
}
var examples = Path.GetFullPath(args.Length > 1 ? args[1] : Path.Combine(Directory.GetCurrentDirectory(), "examples"));
var nodeModules = Path.Combine(examples, "..", "node_modules");
if (!File.Exists(Path.Combine(examples, "policies.cedar")) || !Directory.Exists(Path.Combine(examples, "incidents")))
{
    Console.Error.WriteLine($"incidents: '{examples}' is not the repository's examples directory (policies.cedar and incidents/)");
    return 1;
}
if (!Directory.Exists(Path.Combine(nodeModules, "@modelcontextprotocol", "server-filesystem")))
{
    Console.Error.WriteLine("incidents: the npm MCP servers are not installed; run ./start (or npm ci) first");
    return 1;
}

using var http = new HttpClient();
IAccessTokenSource Dev(string who) => new DevelopmentTokenSource(http, url, DevelopmentIdentity.Parse(who));
AuthzClient As(string who) => new(url, Dev(who), TimeSpan.FromSeconds(60));
var clients = new IncidentClients(async (agent, ct) => (await Dev($"agent:{agent}").GetTokenAsync(ct)).Value, As("governance"), As("approver"));
try
{
    var published = await IncidentPolicy.EnsurePublishedAsync(clients.Governance, examples);
    Console.WriteLine(published is { } version ? $"published policy version {version}: examples/policies.cedar with the incidents' policies" : "the incidents' policies are in force");
    var policies = PolicyNames.Of((await clients.Governance.GetCurrentPolicyAsync()).Policies);
    await using var stage = await IncidentStage.StartAsync(new IncidentStageOptions(url, new JsonObject { ["DevelopmentIdentity"] = "pep:*" }, examples, nodeModules));
    Console.WriteLine($"MCP gateway at {stage.GatewayEndpoint}, in front of office (incident tools), vault and plans (npm filesystem server)");
    Console.WriteLine();
    var results = await Incidents.RunAllAsync(stage, clients, policies, Console.Out);
    var wrong = results.Count(r => !r.AsExpected);
    Console.WriteLine($"incidents: {results.Count - wrong} steps as expected, {wrong} not");
    return wrong == 0 ? 0 : 2;
}
catch (Exception failure) when (failure is AuthzException or GatewayConfigurationException or HttpRequestException or ModelContextProtocol.McpException)
{
    // Unreachable, no development issuer (not ./start), a refused request or a tool server that would not start: one line.
    Console.Error.WriteLine($"incidents: {failure.Message}");
    return 1;
}
