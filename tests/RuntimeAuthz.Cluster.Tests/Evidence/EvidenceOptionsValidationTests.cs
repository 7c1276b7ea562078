using RuntimeAuthz.Grains.Evidence;

namespace RuntimeAuthz.Cluster.Tests.Evidence;

/// <summary>The group-commit settings are refused at start when out of range, naming the key.</summary>
public sealed class EvidenceOptionsValidationTests
{
    [Theory]
    [InlineData(0, 8, "Evidence:RequestsInFlightPerPartition")]
    [InlineData(65, 8, "Evidence:RequestsInFlightPerPartition")]
    [InlineData(4, 0, "Evidence:BatchWhileBusy")]
    [InlineData(4, 101, "Evidence:BatchWhileBusy")]
    public void Out_of_range_group_commit_settings_are_refused_by_name(int inFlight, int batchWhileBusy, string key)
    {
        var result = new EvidenceOptionsValidator().Validate(null, new EvidenceOptions { RequestsInFlightPerPartition = inFlight, BatchWhileBusy = batchWhileBusy });
        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.StartsWith(key + " must be between", StringComparison.Ordinal));
    }

    [Fact]
    public void The_defaults_and_the_bounds_are_accepted()
    {
        var validator = new EvidenceOptionsValidator();
        Assert.True(validator.Validate(null, new EvidenceOptions()).Succeeded);
        Assert.True(validator.Validate(null, new EvidenceOptions { RequestsInFlightPerPartition = 1, BatchWhileBusy = 1 }).Succeeded);
        Assert.True(validator.Validate(null, new EvidenceOptions { RequestsInFlightPerPartition = 64, BatchWhileBusy = 100 }).Succeeded);
    }
}
