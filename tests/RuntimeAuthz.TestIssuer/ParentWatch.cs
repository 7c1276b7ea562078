using System.Diagnostics;

namespace RuntimeAuthz.TestIssuer;

/// <summary>Stops the issuer when the process that started it exits, so a crashed test run leaves no issuer behind.</summary>
public static class ParentWatch
{
    public static void StopWhenGone(WebApplication app, int parentProcessId)
    {
        var lifetime = app.Lifetime;
        _ = Task.Run(async () =>
        {
            try
            {
                using var parent = Process.GetProcessById(parentProcessId);
                await parent.WaitForExitAsync(lifetime.ApplicationStopping);
            }
            catch (ArgumentException)
            {
                // The parent is already gone.
            }
            catch (OperationCanceledException)
            {
                return;
            }
            lifetime.StopApplication();
        });
    }
}
