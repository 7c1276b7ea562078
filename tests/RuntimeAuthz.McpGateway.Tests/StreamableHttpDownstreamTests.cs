using System.ComponentModel;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Server;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.McpGateway.Tests.Infrastructure;

namespace RuntimeAuthz.McpGateway.Tests;

/// <summary>
/// A downstream server over Streamable HTTP (an MCP C# SDK server on 127.0.0.1 that counts the calls it receives), behind a
/// gateway that hides the tools an agent can never call.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class StreamableHttpDownstreamTests(GatewayEnvironment env)
{
    [Fact]
    public async Task Calls_reach_an_HTTP_server_only_when_allowed_and_tools_the_agent_can_never_call_are_not_listed()
    {
        var accounts = await StartAccountServerAsync();
        var gateway = await env.StartGatewayAsync(GatewayConfig(accounts));
        var agent = await env.RegisterAgentAsync("banker", ["accounts_lookup_account", "accounts_close_account"]);
        await using var client = await GatewayEnvironment.ConnectAsync(gateway, TestTokens.ForAgent(agent));

        var listed = (await client.ListToolsAsync()).Select(t => t.Name).Order(StringComparer.Ordinal).ToArray();
        var lookup = await client.CallToolAsync("accounts.lookup_account", new Dictionary<string, object?> { ["name"] = "acme" });
        var close = await client.CallToolAsync("accounts.close_account", new Dictionary<string, object?> { ["name"] = "acme" });

        Assert.Equal(["accounts.close_account", "accounts.lookup_account"], listed);
        Assert.False(lookup.IsError == true, GatewayEndToEndTests.Text(lookup));
        Assert.Contains("acct-acme", GatewayEndToEndTests.Text(lookup));
        Assert.True(close.IsError);
        Assert.Equal("denied", GatewayEndToEndTests.Refusal(close)["kind"]!.GetValue<string>());
        Assert.Equal(["lookup_account acme"], AccountTools.Received.Where(r => r.EndsWith(" acme", StringComparison.Ordinal)).ToArray());
    }

    private JsonObject GatewayConfig(RunningWebHost accounts)
    {
        var config = env.GatewayConfig(env.Silos[1].BaseAddress);
        var gateway = config["Gateway"]!.AsObject();
        gateway["Cluster"]!["TokenFile"] = env.PepReaderTokenFile;
        gateway["HideUncallableTools"] = true;
        gateway["Servers"] = new JsonObject
        {
            ["accounts"] = new JsonObject
            {
                ["Url"] = new Uri(accounts.BaseAddress, "/mcp").ToString(), ["Trusted"] = true, ["ResourceType"] = "Account", ["ResourceArgument"] = "name",
            },
            ["fs"] = gateway["Servers"]!["fs"]!.DeepClone(),
        };
        return config;
    }

    private Task<RunningWebHost> StartAccountServerAsync()
    {
        var builder = WebApplication.CreateBuilder(["--urls", "http://127.0.0.1:0"]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddMcpServer().WithHttpTransport(o => o.Stateless = true).WithTools<AccountTools>();
        var app = builder.Build();
        app.MapMcp("/mcp");
        return env.StartWebHostAsync(app);
    }

    [McpServerToolType]
    public sealed class AccountTools
    {
        public static readonly System.Collections.Concurrent.ConcurrentQueue<string> Received = new();

        [McpServerTool(Name = "lookup_account", ReadOnly = true, Destructive = false), Description("The account id of a customer.")]
        public static string Lookup(string name)
        {
            Received.Enqueue($"lookup_account {name}");
            return $"acct-{name}";
        }

        [McpServerTool(Name = "close_account", Destructive = true), Description("Closes a customer's account.")]
        public static string Close(string name)
        {
            Received.Enqueue($"close_account {name}");
            return "closed";
        }
    }
}
