using Microsoft.Extensions.Logging;

namespace RuntimeAuthz.McpGateway.Tests;

/// <summary>A configuration the gateway cannot use stops it with a message naming each problem.</summary>
public sealed class GatewayConfigurationTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("mcp-gateway-config-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData("""{"Gateway": {"Cluster": {"Url": "http://127.0.0.1:1", "TokenFile": "@token"}}}""", "Gateway:Servers is empty")]
    [InlineData("""{"Gateway": {"Cluster": {"TokenFile": "@token"}, "Servers": {"fs": {"Command": "node"}}}}""", "Gateway:Cluster:Url is required")]
    [InlineData("""{"Gateway": {"Cluster": {"Url": "ftp://x", "TokenFile": "@token"}, "Servers": {"fs": {"Command": "node"}}}}""", "Gateway:Cluster:Url 'ftp://x' is not an absolute http(s) address")]
    [InlineData("""{"Gateway": {"Cluster": {"Url": "http://127.0.0.1:1"}, "Servers": {"fs": {"Command": "node"}}}}""", "Gateway:Cluster needs TokenFile")]
    [InlineData("""{"Gateway": {"Cluster": {"Url": "http://127.0.0.1:1", "TokenFile": "/nonexistent/token"}, "Servers": {"fs": {"Command": "node"}}}}""", "Gateway:Cluster:TokenFile '/nonexistent/token' does not exist")]
    [InlineData("""{"Gateway": {"Cluster": {"Url": "http://127.0.0.1:1", "DevelopmentIdentity": "admin"}, "Servers": {"fs": {"Command": "node"}}}}""", "'admin' is not an enforcement point")]
    [InlineData("""{"Gateway": {"Cluster": {"Url": "http://127.0.0.1:1", "TokenFile": "@token"}, "Servers": {"fs": {"Command": "node", "Url": "http://127.0.0.1:2/mcp"}}}}""", "Gateway:Servers:fs: give Command or Url, not both")]
    [InlineData("""{"Gateway": {"Cluster": {"Url": "http://127.0.0.1:1", "TokenFile": "@token"}, "Servers": {"fs": {}}}}""", "Gateway:Servers:fs needs Command (stdio) or Url (Streamable HTTP)")]
    [InlineData("""{"Gateway": {"Cluster": {"Url": "http://127.0.0.1:1", "TokenFile": "@token"}, "Servers": {"f.s": {"Command": "node"}}}}""", "Gateway:Servers:f.s: a server name is a letter")]
    [InlineData("""{"Gateway": {"Cluster": {"Url": "http://127.0.0.1:1", "TokenFile": "@token"}, "Servers": {"fs": {"Command": "node", "ResourceType": "not a type"}}}}""", "ResourceType 'not a type' is not a Cedar entity type")]
    [InlineData("""{"Gateway": {"Cluster": {"Url": "http://127.0.0.1:1", "TokenFile": "@token"}, "ApprovalWaitSeconds": -1, "Servers": {"fs": {"Command": "node"}}}}""", "Gateway:ApprovalWaitSeconds must be 0..3600, not -1")]
    [InlineData("""{"Gateway": {"Cluster": {"Url": "http://127.0.0.1:1", "TokenFile": "@token"}, "ApprovalWaitSeconds": "soon", "Servers": {"fs": {"Command": "node"}}}}""", "ApprovalWaitSeconds")]
    [InlineData("""{"Gateway": {"Cluster": {"Url": "http://127.0.0.1:1", "TokenFile": "@token"}, "Servers": {"fs": {"Command": "node"}}""", "is not valid JSON")]
    public void A_bad_configuration_is_refused_with_a_message_naming_the_problem(string config, string says)
    {
        var error = Assert.Throws<GatewayConfigurationException>(() => GatewayHost.Build(Args(config)));

        Assert.Contains(says, error.Message);
    }

    [Fact]
    public void The_command_line_overrides_the_file()
    {
        var config = """{"Gateway": {"Cluster": {"Url": "http://127.0.0.1:1", "TokenFile": "@token"}, "ApprovalWaitSeconds": 5, "Servers": {"fs": {"Command": "node"}}}}""";

        var error = Assert.Throws<GatewayConfigurationException>(() => GatewayHost.Build([.. Args(config), "--Gateway:ApprovalWaitSeconds=7200"]));

        Assert.Contains("Gateway:ApprovalWaitSeconds must be 0..3600, not 7200", error.Message);
    }

    [Fact]
    public void A_missing_configuration_file_is_named()
    {
        var missing = Path.Combine(_directory, "absent.json");

        var error = Assert.Throws<GatewayConfigurationException>(() => GatewayHost.Build(["--config", missing]));

        Assert.Equal($"gateway configuration: --config '{missing}' does not exist", error.Message);
    }

    [Fact]
    public async Task A_downstream_server_that_cannot_start_stops_the_gateway_naming_it()
    {
        var config = """{"Gateway": {"Cluster": {"Url": "http://127.0.0.1:1", "TokenFile": "@token"}, "Servers": {"broken": {"Command": "/nonexistent/mcp-server"}}}}""";
        await using var app = GatewayHost.Build(Args(config), b => b.Logging.SetMinimumLevel(LogLevel.Critical));

        var error = await Assert.ThrowsAsync<GatewayConfigurationException>(() => app.StartAsync());

        Assert.StartsWith("downstream server 'broken' (stdio command '/nonexistent/mcp-server') could not be used:", error.Message);
    }

    private string[] Args(string config)
    {
        var token = Path.Combine(_directory, "pep.token");
        File.WriteAllText(token, "a-token");
        var file = Path.Combine(_directory, $"{Guid.NewGuid():N}.json");
        File.WriteAllText(file, config.Replace("@token", token, StringComparison.Ordinal));
        return ["--urls", "http://127.0.0.1:0", "--config", file];
    }
}
