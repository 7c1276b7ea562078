using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;
using RuntimeAuthz.Client;
using RuntimeAuthz.McpGateway;
using RuntimeAuthz.Silo;

namespace RuntimeAuthz.Bench.Gateway;

/// <summary>
/// What the MCP gateway adds to one tool call: the npm filesystem server's read_text_file called directly over stdio,
/// and the same call through the gateway (Streamable HTTP in, decision by a silo with evidence on, stdio out, outcome
/// reported), one call at a time, alternating so both see the same machine. Reports p50/p99 of each and their difference.
/// </summary>
public static class GatewayBenchmark
{
    public static int Run(string[] args)
    {
        var calls = BenchSupport.ArgValue(args, "--calls", 500);
        var warmup = BenchSupport.ArgValue(args, "--warmup", 50);
        RunAsync(calls, warmup).GetAwaiter().GetResult();
        return 0;
    }

    private static async Task RunAsync(int calls, int warmup)
    {
        var root = RepoPaths.Root;
        var work = Directory.CreateTempSubdirectory("bench-gateway-").FullName;
        var files = Directory.CreateDirectory(Path.Combine(work, "files")).FullName;
        var file = Path.Combine(files, "note.txt");
        await File.WriteAllTextAsync(file, "a short note the agent reads");
        var server = Path.Combine(root, "node_modules", "@modelcontextprotocol", "server-filesystem", "dist", "index.js");
        await using var azurite = await AzuriteServer.StartAsync();
        var service = "bench-gateway-" + Guid.NewGuid().ToString("N")[..8];
        await using var silo = SiloHost.Build(
        [
            "--urls", "http://127.0.0.1:0", "--environment", "Development",
            "--Authentication:DevelopmentIssuer:Enabled=true", "--Seed:Example=false",
            $"--Storage:ConnectionString={azurite.ConnectionString}",
            $"--Orleans:ServiceId={service}", $"--Orleans:ClusterId={service}",
            $"--Orleans:SiloPort={FreePorts.Next()}", $"--Orleans:GatewayPort={FreePorts.Next()}",
        ], builder => builder.Logging.SetMinimumLevel(LogLevel.Error));
        await silo.StartAsync();
        var siloUrl = AddressOf(silo);
        using var http = new HttpClient();
        using var admin = new AuthzClient(siloUrl, new DevelopmentTokenSource(http, siloUrl, DevelopmentIdentity.Admin));
        await admin.PublishPolicyAsync(new PublishPolicyRequest("""permit (principal, action == Action::"fs_read_text_file", resource);""", null, "bench gateway"));
        await admin.RegisterAgentAsync(new RegisterAgentRequest("bench-agent", "bench", "bench@bench.invalid", "bench"));
        await admin.GrantDelegationAsync("bench-agent", new GrantDelegationRequest(["fs_read_text_file"], ["*"], DateTimeOffset.UtcNow.AddDays(1)));

        var config = Path.Combine(work, "gateway.json");
        await File.WriteAllTextAsync(config, new JsonObject
        {
            ["Gateway"] = new JsonObject
            {
                ["Cluster"] = new JsonObject { ["Url"] = siloUrl.ToString(), ["DevelopmentIdentity"] = "pep:*" },
                ["ApprovalWaitSeconds"] = 0,
                ["Servers"] = new JsonObject
                {
                    ["fs"] = new JsonObject { ["Command"] = "node", ["Arguments"] = new JsonArray(server, files), ["ResourceType"] = "File", ["ResourceArgument"] = "path" },
                },
            },
        }.ToJsonString());
        await using var gateway = GatewayHost.Build(["--urls", "http://127.0.0.1:0", "--config", config, "--environment", "Production"],
            builder => builder.Logging.SetMinimumLevel(LogLevel.Error));
        await gateway.StartAsync();

        var agentToken = await new DevelopmentTokenSource(http, siloUrl, DevelopmentIdentity.Parse("agent:bench-agent")).GetTokenAsync(CancellationToken.None);
        await using var direct = await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions { Command = "node", Arguments = [server, files] }));
        await using var through = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(AddressOf(gateway), "/mcp"), TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + agentToken.Value },
        }), new McpClientOptions { ProtocolVersion = "2025-11-25" });

        var arguments = new Dictionary<string, object?> { ["path"] = file };
        async Task<double> TimeAsync(McpClient client, string tool)
        {
            var watch = Stopwatch.StartNew();
            var result = await client.CallToolAsync(tool, arguments);
            watch.Stop();
            if (result.IsError == true) throw new InvalidOperationException($"{tool} failed: {string.Join(" ", result.Content.OfType<ModelContextProtocol.Protocol.TextContentBlock>().Select(b => b.Text))}");
            return watch.Elapsed.TotalMilliseconds;
        }
        for (var i = 0; i < warmup; i++)
        {
            await TimeAsync(direct, "read_text_file");
            await TimeAsync(through, "fs.read_text_file");
        }
        var directTimes = new double[calls];
        var gatewayTimes = new double[calls];
        for (var i = 0; i < calls; i++)
        {
            directTimes[i] = await TimeAsync(direct, "read_text_file");
            gatewayTimes[i] = await TimeAsync(through, "fs.read_text_file");
        }
        Array.Sort(directTimes);
        Array.Sort(gatewayTimes);
        double P(double[] sorted, double p) => BenchSupport.Percentile(sorted, p);
        Console.WriteLine($"commit {BenchSupport.GitCommit(root)}, {Environment.ProcessorCount} cores, {calls} calls each after {warmup} warm-up, one at a time");
        Console.WriteLine($"direct (stdio)        p50 {P(directTimes, 0.50),7:0.00} ms   p99 {P(directTimes, 0.99),7:0.00} ms");
        Console.WriteLine($"through the gateway   p50 {P(gatewayTimes, 0.50),7:0.00} ms   p99 {P(gatewayTimes, 0.99),7:0.00} ms");
        Console.WriteLine($"added by the gateway  p50 {P(gatewayTimes, 0.50) - P(directTimes, 0.50),7:0.00} ms   p99 {P(gatewayTimes, 0.99) - P(directTimes, 0.99),7:0.00} ms");
        await gateway.StopAsync();
        await silo.StopAsync();
        try { Directory.Delete(work, recursive: true); }
        catch (IOException) { /* the OS cleans temp */ }
    }

    private static Uri AddressOf(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
}
