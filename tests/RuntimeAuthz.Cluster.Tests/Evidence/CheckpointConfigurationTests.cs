using RuntimeAuthz.Cluster.Tests.Infrastructure;

namespace RuntimeAuthz.Cluster.Tests.Evidence;

/// <summary>Evidence:Checkpoints settings that cannot work stop start-up with one line naming the key.</summary>
[Collection(ClusterCollection.Name)]
public sealed class CheckpointConfigurationTests(ClusterEnvironment env)
{
    [Theory]
    [InlineData("Evidence:Checkpoints:Interval", "--Evidence:Checkpoints:Interval=00:00:00")]
    [InlineData("Evidence:Checkpoints:Interval", "--Evidence:Checkpoints:Interval=-00:00:05")]
    [InlineData("Evidence:Checkpoints:Interval", "--Evidence:Checkpoints:Interval=02:00:00")]
    [InlineData("Evidence:Checkpoints:Interval", "--Evidence:Checkpoints:Interval=soon")]
    [InlineData("Evidence:Checkpoints:Table", "--Evidence:Checkpoints:Table=check-points")]
    [InlineData("Evidence:Checkpoints:Table", "--Evidence:Checkpoints:Table=AuthzEvidence")]
    [InlineData("Evidence:Checkpoints:Table", "--Evidence:Table=SameTable", "--Evidence:Checkpoints:Table=sametable")]
    [InlineData("Evidence:Checkpoints:ServiceUri", "--Evidence:Checkpoints:Credential=DefaultAzureCredential")]
    [InlineData("Evidence:Checkpoints:ServiceUri", "--Evidence:Checkpoints:Credential=DefaultAzureCredential", "--Evidence:Checkpoints:ServiceUri=http://account.table.core.windows.net")]
    [InlineData("Evidence:Checkpoints:ServiceUri", "--Evidence:Checkpoints:ConnectionString=UseDevelopmentStorage=true", "--Evidence:Checkpoints:ServiceUri=https://account.table.core.windows.net")]
    [InlineData("Evidence:Checkpoints:ConnectionString", "--Evidence:Checkpoints:ConnectionString=AccountName=x;AccountKey=not-base64!;TableEndpoint=http://127.0.0.1:1/x")]
    [InlineData("Evidence:Checkpoints:Credential", "--Evidence:Checkpoints:Credential=ManagedIdentity")]
    public async Task An_invalid_checkpoint_setting_stops_start_up_naming_its_key(string key, params string[] settings)
    {
        var id = "cpcfg-" + Guid.NewGuid().ToString("N")[..10];
        var failure = await HostConfigurationTests.StartFailureAsync(env.HostArgs(id, "Production", [TestTokens.AuthorityArgument, .. settings]));

        Assert.Contains(key, failure, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', failure);
        Assert.DoesNotContain("not-base64", failure, StringComparison.Ordinal); // the connection string holds a secret
    }
}
