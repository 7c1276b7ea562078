using RuntimeAuthz.McpGateway;

// The MCP authorization gateway: dotnet run --project gateway/RuntimeAuthz.McpGateway -- --config gateway.json [--urls http://127.0.0.1:5090]
try
{
    await using var app = GatewayHost.Build(args);
    await app.RunAsync();
    return 0;
}
catch (GatewayConfigurationException bad)
{
    Console.Error.WriteLine(bad.Message);
    return 1;
}
