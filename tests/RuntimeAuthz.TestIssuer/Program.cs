using RuntimeAuthz.TestIssuer;

WebApplication app;
IssuerCommandLine commandLine;
try
{
    commandLine = IssuerCommandLine.Parse(args);
    var clients = await ClientCatalog.LoadAsync(commandLine.ClientsFile, CancellationToken.None);
    app = IssuerServer.Build(commandLine, clients);
}
catch (IssuerSetupException e)
{
    await Console.Error.WriteLineAsync($"test issuer: {e.Message}");
    await Console.Error.WriteLineAsync(IssuerCommandLine.Usage);
    return 2;
}

if (commandLine.ParentProcessId is { } parent) ParentWatch.StopWhenGone(app, parent);
await app.RunAsync();
return 0;
