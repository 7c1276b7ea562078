using RuntimeAuthz.Silo;

WebApplication app;
try
{
    app = SiloHost.Build(args);
    await app.StartAsync();
}
catch (Exception ex)
{
    // A configuration or storage problem: one line naming the setting and a failure exit code, not an unhandled-exception abort.
    await Console.Error.WriteLineAsync($"runtimeauthz-silo: cannot start: {StartupFailure.Describe(ex)}");
    return 1;
}
await app.WaitForShutdownAsync();
await app.DisposeAsync();
return 0;
