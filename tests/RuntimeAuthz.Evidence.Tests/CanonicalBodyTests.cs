using System.Reflection;
using System.Text.Json.Serialization;

namespace RuntimeAuthz.Evidence.Tests;

/// <summary>The direct canonical writer of record bodies produces exactly what serializing and canonicalizing does.</summary>
public sealed class CanonicalBodyTests
{
    private static readonly ApprovalEvidence FullApproval = new()
    {
        Id = "ap-1", Act = ApprovalActs.Requested, BindingDigest = "sha256:" + new string('b', 64), ExpiresAt = "2030-01-01T09:00:00.0000000Z",
        Required = 2, Requester = "pep-1", Reason = "needs \"two\" people\n", SessionRisk = -7, Timeline = ["read_file Allow", "", "transfer ApprovalRequired"],
    };

    /// <summary>Every field set, with text that needs escaping (quotes, backslashes, controls, non-ASCII, an astral character).</summary>
    private static readonly EvidenceBody Full = new()
    {
        Chain = "session:s-1", Sequence = 9_007_199_254_740_993, Time = "2030-01-01T08:00:00.0000000Z", Kind = EvidenceKinds.Decision,
        DecisionId = Guid.Empty.ToString(), AgentId = "agent-ü", SessionId = "s-1", Action = "read\tfile", Resource = "Document::\"d\\1\"",
        InputDigest = "sha256:" + new string('a', 64), Input = """{"a":"<b>&'+\u0001","z":[1,2.5,"é😀"]}""", InputTruncated = true,
        Outcome = "Allow", DenyReason = "no-evidence", DeterminingPolicies = ["p1", "p\u001f2"], PolicyVersion = 12, EntityStoreVersion = 5, RiskAdded = 3, Supersedes = 4,
        Report = "response", ReporterKind = "enforcement-point", ApprovalIds = ["ap-1"], Approval = FullApproval, Actor = "Ω actor", OnBehalfOf = "User::\"ü\"",
        Detail = "line1\r\nline2\u007f\u2028", PreviousHash = new string('0', 64), KeyId = "p256-abc",
    };

    public static TheoryData<string> Cases() => [.. BodyCases.Keys];

    private static readonly Dictionary<string, EvidenceBody> BodyCases = new()
    {
        ["every field"] = Full,
        ["only the defaults"] = new EvidenceBody(),
        ["an approval with only its required fields"] = new EvidenceBody { Chain = "governance", Approval = new ApprovalEvidence { Id = "", Act = "approved" } },
        ["empty lists and empty strings"] = Full with { DeterminingPolicies = [], ApprovalIds = [], Detail = "", Approval = FullApproval with { Timeline = [] } },
        ["negative and zero numbers"] = Full with { Sequence = 0, PolicyVersion = -1, RiskAdded = long.MinValue, InputTruncated = false },
        ["a decision as the session grain builds it"] = new EvidenceBody
        {
            Chain = "session:s-2", Sequence = 1, Time = "2030-01-01T08:00:00.0000000Z", DecisionId = Guid.NewGuid().ToString(), AgentId = "bench-agent",
            SessionId = "s-2", Action = "read_file", Resource = "Document::\"doc-1\"", InputDigest = "sha256:" + new string('c', 64),
            Input = """{"action":"read_file","agentId":null,"context":null,"input":{"path":"/reports/q3.pdf"},"resource":{"id":"doc-1","properties":{"fleet":"research"},"type":"Document"}}""",
            Outcome = "Allow", DeterminingPolicies = ["read-own-fleet-documents"], PolicyVersion = 1, Detail = "delegation g-1", KeyId = "p256-x",
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_direct_writer_equals_serializing_then_canonicalizing(string name)
    {
        var body = BodyCases[name];
        Assert.Equal(EvidenceSealer.SerializeAndCanonicalize(body), EvidenceSealer.CanonicalBody(body));
    }

    [Fact]
    public void Every_property_of_a_body_and_of_its_approval_is_written()
    {
        var canonical = EvidenceSealer.CanonicalBody(Full);
        foreach (var type in new[] { typeof(EvidenceBody), typeof(ApprovalEvidence) })
        {
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                var name = property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name;
                Assert.NotNull(name);
                Assert.Contains($"\"{name}\":", canonical);
            }
        }
    }

    [Fact]
    public void Text_that_is_not_well_formed_UTF16_takes_the_general_path_and_is_refused_as_before()
    {
        var broken = Full with { Detail = "lone \ud800 surrogate" };
        var general = Record.Exception(() => EvidenceSealer.SerializeAndCanonicalize(broken));
        var direct = Record.Exception(() => EvidenceSealer.CanonicalBody(broken));
        Assert.Equal(general?.GetType(), direct?.GetType());
        if (general is null) Assert.Equal(EvidenceSealer.SerializeAndCanonicalize(broken), EvidenceSealer.CanonicalBody(broken));
    }
}
