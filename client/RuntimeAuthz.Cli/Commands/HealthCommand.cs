using System.CommandLine;
using RuntimeAuthz.Cli.Infrastructure;

namespace RuntimeAuthz.Cli.Commands;

/// <summary><c>authz health</c>: is the service up and ready to decide? Exit 0 when ready.</summary>
public static class HealthCommand
{
    public static Command Create(CommandRunner runner)
    {
        var command = new Command("health", "Check that the service is live and ready (exit 0 when ready)");
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var live = await call.Client.GetLivenessAsync(cancellationToken).ConfigureAwait(false);
            var ready = await call.Client.GetReadinessAsync(cancellationToken).ConfigureAwait(false);
            if (call.Json)
            {
                Display.Json(call.Output, new { url = call.ServiceAddress.ToString(), live = live.Healthy, ready = ready.Healthy, liveStatus = live.StatusCode, readyStatus = ready.StatusCode });
            }
            else
            {
                call.Output.WriteLine($"{(ready.Healthy ? "ready" : live.Healthy ? "live, not ready" : "not live")}: {call.ServiceAddress} (live {live.StatusCode}, ready {ready.StatusCode})");
            }
            return ready.Healthy ? ExitCodes.Success : ExitCodes.Error;
        });
        return command;
    }
}
