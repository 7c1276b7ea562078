using System.Globalization;
using System.Net.Http.Headers;
using Azure.Core;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace RuntimeAuthz.Bench.Fleet;

/// <summary>
/// What the fleet benchmarks (`agents`, `sessions-search`) set up alike: Azurite (in memory unless `--on-disk`),
/// one silo process on it with its log in a work directory, the first output line (time, commit, storage, load),
/// a bearer token for the silo's HTTP client, and table clients that count what storage returned.
/// </summary>
internal sealed class FleetBenchHost : IAsyncDisposable
{
    private FleetBenchHost(string root, string work, AzuriteServer azurite, SiloProcess silo)
    {
        Root = root;
        Work = work;
        Azurite = azurite;
        Silo = silo;
    }

    public string Root { get; }

    /// <summary>A temporary directory for this run (the silo's log, the bench's own files).</summary>
    public string Work { get; }

    public AzuriteServer Azurite { get; }
    public SiloProcess Silo { get; }

    /// <summary>The silo's service id, as the product's index classes need it to build their keys.</summary>
    public IOptions<ClusterOptions> Cluster => Options.Create(new ClusterOptions { ServiceId = Silo.ServiceId });

    public static async Task<FleetBenchHost> StartAsync(string[] args, string name, bool evidence)
    {
        var root = RepoPaths.Root;
        var work = Directory.CreateTempSubdirectory($"bench-{name}-").FullName;
        var azurite = await AzuriteServer.StartAsync(inMemory: !BenchSupport.HasFlag(args, "--on-disk"));
        try
        {
            var silo = await SiloProcess.StartAsync(root, azurite, evidence, Path.Combine(work, "silo.log"));
            return new FleetBenchHost(root, work, azurite, silo);
        }
        catch
        {
            await azurite.DisposeAsync();
            throw;
        }
    }

    /// <summary>The run's first line: when, which commit, what it does, which storage, the load average.</summary>
    public void PrintHeader(string what) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, commit {BenchSupport.GitCommit(Root)}; {what}; " +
            $"Azurite {(Azurite.InMemory ? "in memory" : "on disk")}; load average {BenchSupport.LoadAverage()}"));

    /// <summary>Sets a development token with <paramref name="role"/> on the silo's HTTP client (left anonymous if the silo issues none).</summary>
    public async Task AuthorizeAsync(string subject, string role)
    {
        if (await Silo.DevTokenAsync(subject, [role]) is { } token)
            Silo.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    /// <summary>A table service client on the run's Azurite whose requests and returned entities <paramref name="counter"/> counts.</summary>
    public TableServiceClient CountingTables(StorageReadCounter counter)
    {
        var options = new TableClientOptions();
        options.AddPolicy(counter, HttpPipelinePosition.PerCall);
        return new TableServiceClient(Azurite.ConnectionString, options);
    }

    public async ValueTask DisposeAsync()
    {
        // The silo first: it writes to Azurite until it stops.
        await Silo.DisposeAsync();
        await Azurite.DisposeAsync();
    }
}
