using RuntimeAuthz.HttpGateway;

WebApplication app;
try
{
    app = GatewayHost.Build(args);
    await app.StartAsync();
}
catch (Exception ex) when (ex is Microsoft.Extensions.Options.OptionsValidationException or InvalidOperationException or IOException)
{
    // A configuration problem: one line naming the setting and a failure exit code, not an unhandled-exception abort.
    await Console.Error.WriteLineAsync($"runtimeauthz-httpgateway: cannot start: {ex.Message}");
    return 1;
}
await app.WaitForShutdownAsync();
await app.DisposeAsync();
return 0;
