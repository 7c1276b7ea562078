namespace RuntimeAuthz.Cluster.Tests; public class Smoke { [Fact] public void Runs() => Assert.True(1 + 1 == 2); }
