namespace RuntimeAuthz.Cluster.Tests.Infrastructure;

/// <summary>Calls made while a killed silo is not yet declared dead.</summary>
internal static class SiloFailover
{
    /// <summary>Until the dead silos are declared dead, calls to their former activations may fail or time out.</summary>
    public static async Task<T> RetryAsync<T>(Func<Task<T>> call)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            try
            {
                return await call().WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }
}
