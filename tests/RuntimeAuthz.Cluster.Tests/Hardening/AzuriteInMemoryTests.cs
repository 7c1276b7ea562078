using Azure;
using Azure.Data.Tables;

namespace RuntimeAuthz.Cluster.Tests.Hardening;

/// <summary>
/// The fleet benchmarks' Azurite keeps its tables in memory: it stores and answers as usual, writes
/// nothing to its directory, and a restart starts empty (the default, on disk, keeps the data).
/// </summary>
public sealed class AzuriteInMemoryTests
{
    [Fact]
    public async Task In_memory_azurite_answers_writes_nothing_to_disk_and_forgets_on_restart()
    {
        await using var storage = await AzuriteServer.StartAsync(inMemory: true);
        var table = new TableServiceClient(storage.ConnectionString).GetTableClient("InMemoryProbe");
        await table.CreateIfNotExistsAsync();
        await table.UpsertEntityAsync(new TableEntity("p", "r") { ["Value"] = 42 });

        Assert.Equal(42, (await table.GetEntityAsync<TableEntity>("p", "r")).Value.GetInt32("Value"));
        Assert.True(storage.InMemory);
        Assert.Empty(Directory.EnumerateFileSystemEntries(storage.DataDirectory));

        await storage.StopAsync();
        await storage.StartAgainAsync();
        var gone = await Assert.ThrowsAsync<RequestFailedException>(() => table.GetEntityAsync<TableEntity>("p", "r"));
        Assert.Equal(404, gone.Status);
    }

    [Fact]
    public async Task On_disk_azurite_keeps_its_tables_across_a_restart()
    {
        await using var storage = await AzuriteServer.StartAsync();
        var table = new TableServiceClient(storage.ConnectionString).GetTableClient("OnDiskProbe");
        await table.CreateIfNotExistsAsync();
        await table.UpsertEntityAsync(new TableEntity("p", "r") { ["Value"] = 7 });

        await storage.StopAsync();
        await storage.StartAgainAsync();

        Assert.False(storage.InMemory);
        Assert.Equal(7, (await table.GetEntityAsync<TableEntity>("p", "r")).Value.GetInt32("Value"));
    }
}
