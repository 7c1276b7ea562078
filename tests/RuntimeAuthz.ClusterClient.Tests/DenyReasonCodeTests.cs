using System.Reflection;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.ClusterClient.Tests;

/// <summary>The server and both clients answer with one set of deny-reason codes, defined once.</summary>
public sealed class DenyReasonCodeTests
{
    private static readonly Type[] CodeClasses = [typeof(DenyReasons), typeof(ApprovalDenyReasons), typeof(EvidenceDenyReasons), typeof(GovernanceDenyReasons)];

    /// <summary>The assemblies that produce (server) or interpret (clients) deny reasons.</summary>
    private static readonly Assembly[] ServerAndClients =
    [
        typeof(Contracts.IAgentSessionGrain).Assembly, typeof(Grains.PolicyCache).Assembly, typeof(Silo.SiloHost).Assembly,
        typeof(Evidence.EvidenceSealer).Assembly, typeof(AuthzClient).Assembly, typeof(AuthzClusterClient).Assembly,
    ];

    [Fact]
    public void The_set_of_all_codes_is_exactly_the_constants_defined()
    {
        var defined = CodeClasses.SelectMany(Constants).ToList();

        Assert.Equal(defined.Count, defined.Distinct().Count());
        Assert.Equal(defined.Order(), DenyReasons.All.Order());
    }

    [Fact]
    public void Neither_the_server_nor_the_clients_keep_a_copy_of_any_code()
    {
        // A class of constants holding a deny-reason value anywhere else would be a second definition that can drift.
        var copies = ServerAndClients.SelectMany(a => a.GetTypes())
            .SelectMany(t => Constants(t).Where(DenyReasons.All.Contains).Select(v => $"{t.FullName}: {v}"))
            .ToList();

        Assert.Empty(copies);
    }

    [Fact]
    public void The_shared_codes_depend_on_nothing_but_the_runtime()
    {
        var references = typeof(DenyReasons).Assembly.GetReferencedAssemblies().Select(r => r.Name!).ToList();

        Assert.All(references, name => Assert.True(name.StartsWith("System", StringComparison.Ordinal) || name == "netstandard", name));
    }

    private static IEnumerable<string> Constants(Type type) =>
        type.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .Select(f => (string)f.GetRawConstantValue()!);
}
