using RuntimeAuthz.Cli;
using RuntimeAuthz.Cli.Infrastructure;

return await CliApp.RunAsync(args, CliEnvironment.FromConsole()).ConfigureAwait(false);
