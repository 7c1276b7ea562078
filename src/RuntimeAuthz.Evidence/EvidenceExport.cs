using System.Text.Json;
using System.Text.Json.Nodes;

namespace RuntimeAuthz.Evidence;

/// <summary>
/// JSON-lines export: every field of the signed record, its hash, signature and key id (with the
/// batch proof when one signature covers its batch), and the controls governance teams report the record against.
/// </summary>
public static class EvidenceExport
{
    /// <summary>Controls every record supports: automatic, tamper-evident event records.</summary>
    private static readonly string[] RecordKeeping =
    [
        "NIST-AI-RMF:MANAGE-4.1",      // post-deployment monitoring of the AI system
        "NIST-AI-RMF:MEASURE-2.8",     // transparency and accountability
        "EU-AI-ACT:Art.12",            // record-keeping: automatic logging of events
        "ISO-IEC-42001:A.6.2.8",       // AI system recording of event logs
        "DORA:Art.9",                  // ICT protection and prevention: access control
    ];

    /// <summary>The controls a record maps to, by kind and outcome.</summary>
    public static IReadOnlyList<string> ControlsFor(EvidenceBody body)
    {
        var tags = new List<string>(RecordKeeping);
        switch (body.Kind)
        {
            case EvidenceKinds.Decision when body.Outcome == "ApprovalRequired":
            case EvidenceKinds.Approval:
                tags.Add("EU-AI-ACT:Art.14");          // human oversight
                tags.Add("NIST-AI-RMF:GOVERN-3.2");    // human-AI configurations and oversight roles
                break;
            case EvidenceKinds.Revocation:
            case EvidenceKinds.AgentStatus:
            case EvidenceKinds.Grant:
            case EvidenceKinds.Governance:
                tags.Add("EU-AI-ACT:Art.14");          // ability to intervene / stop
                tags.Add("NIST-AI-RMF:MANAGE-2.4");    // mechanisms to supersede, disengage or deactivate
                tags.Add("DORA:Art.9(4)(c)");          // access rights policies
                break;
            case EvidenceKinds.PolicyPublish:
            case EvidenceKinds.PolicyRollback:
                tags.Add("NIST-AI-RMF:GOVERN-1.4");    // transparent policies and procedures
                tags.Add("ISO-IEC-42001:A.2.2");       // AI policy
                tags.Add("DORA:Art.6");                // ICT risk management framework
                break;
        }
        return tags;
    }

    /// <summary>Export lines keep non-ASCII text as it is; one instance, since each caches the metadata it builds.</summary>
    internal static readonly JsonSerializerOptions LineOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>One export line (no trailing newline).</summary>
    public static string ToJsonLine(EvidenceEntry entry)
    {
        var body = EvidenceSealer.ParseBody(entry.Body);
        var line = JsonNode.Parse(entry.Body)!.AsObject();
        line["hash"] = entry.Hash;
        line["signature"] = entry.Signature;
        line["signatureAlgorithm"] = "ES256";
        // A batch signature is over the batch's root: the record's audit path to it goes with the record.
        if (entry.Proof is { } proof) line["batchProof"] = proof;
        line["controls"] = new JsonArray(ControlsFor(body).Select(t => (JsonNode?)JsonValue.Create(t)).ToArray());
        return line.ToJsonString(LineOptions);
    }
}
