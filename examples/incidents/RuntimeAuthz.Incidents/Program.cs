using RuntimeAuthz.Client;
using RuntimeAuthz.Incidents;

// Runs the incident walk-throughs against a development silo (./start): tokens from its development issuer, the
// incidents' policies published next to the example policy, every step's decision printed.
// Arguments: [silo URL (default $AUTHZ_URL or http://127.0.0.1:5080)] [examples directory].
var address = args.Length > 0 ? args[0] : Environment.GetEnvironmentVariable("AUTHZ_URL") ?? "http://127.0.0.1:5080";
if (!Uri.TryCreate(address, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
{
    Console.Error.WriteLine($"incidents: '{address}' is not the silo's http(s) address");
    return 1;
}
var examples = args.Length > 1 ? args[1] : Path.Combine(Directory.GetCurrentDirectory(), "examples");
if (!File.Exists(Path.Combine(examples, "policies.cedar")) || !Directory.Exists(Path.Combine(examples, "incidents")))
{
    Console.Error.WriteLine($"incidents: '{examples}' is not the repository's examples directory (policies.cedar and incidents/)");
    return 1;
}
using var http = new HttpClient();
AuthzClient As(string who) => new(url, new DevelopmentTokenSource(http, url, DevelopmentIdentity.Parse(who)), TimeSpan.FromSeconds(60));
var clients = new IncidentClients(As("pep:*"), As("governance"), As("approver"));
try
{
    var published = await IncidentPolicy.EnsurePublishedAsync(clients.Governance, examples);
    Console.WriteLine(published is { } version ? $"published policy version {version}: examples/policies.cedar with the incidents' policies" : "the incidents' policies are in force");
    Console.WriteLine();
    var results = await Incidents.RunAllAsync(clients, Console.Out);
    var wrong = results.Count(r => !r.AsExpected);
    Console.WriteLine($"incidents: {results.Count - wrong} steps as expected, {wrong} not");
    return wrong == 0 ? 0 : 2;
}
catch (AuthzException ex)
{
    // Unreachable, no development issuer (not ./start), or a refused request: one line, no stack trace.
    Console.Error.WriteLine($"incidents: {ex.Message}");
    return 1;
}
