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
try
{
    await app.RunAsync();
}
catch (IOException e)
{
    // Kestrel reports a port that is already in use this way; say so in one line rather than with a stack trace.
    await Console.Error.WriteLineAsync($"test issuer: cannot listen on {commandLine.BaseAddress}: {e.Message}");
    return 3;
}
return 0;
