using System.Text;

namespace RuntimeAuthz.Evidence;

/// <summary>
/// Writes an <see cref="EvidenceBody"/> straight into its RFC 8785 form: the same text as serializing
/// it (nulls omitted) and canonicalizing the result, without the JSON text in between and its parse.
/// Members are written in JCS order (ordinal order of the names, as listed here); a test holds this
/// writer to the serialize-then-canonicalize path for every field.
/// </summary>
internal static class CanonicalBodyWriter
{
    /// <summary>The canonical body, or null when a string is not well-formed UTF-16 (the caller takes the general path, which refuses it).</summary>
    public static string? TryWrite(EvidenceBody body)
    {
        var output = new StringBuilder(1024);
        var o = new CanonicalObject(output);
        o.String("action", body.Action);
        o.String("actor", body.Actor);
        o.String("agentId", body.AgentId);
        if (body.Approval is { } approval)
        {
            o.Name("approval");
            if (!WriteApproval(output, approval)) return null;
        }
        o.Strings("approvalIds", body.ApprovalIds);
        o.String("chain", body.Chain);
        o.String("decisionId", body.DecisionId);
        o.String("denyReason", body.DenyReason);
        o.String("detail", body.Detail);
        o.Strings("determiningPolicies", body.DeterminingPolicies);
        o.Number("entityStoreVersion", body.EntityStoreVersion);
        o.Number("format", body.Format);
        o.String("input", body.Input);
        o.String("inputDigest", body.InputDigest);
        o.Bool("inputTruncated", body.InputTruncated);
        o.String("keyId", body.KeyId);
        o.String("kind", body.Kind);
        o.String("onBehalfOf", body.OnBehalfOf);
        o.String("outcome", body.Outcome);
        o.Number("policyVersion", body.PolicyVersion);
        o.String("prevHash", body.PreviousHash);
        o.String("report", body.Report);
        o.String("reporterKind", body.ReporterKind);
        o.String("resource", body.Resource);
        o.Number("riskAdded", body.RiskAdded);
        o.Number("seq", body.Sequence);
        o.String("sessionId", body.SessionId);
        o.Number("supersedes", body.Supersedes);
        o.String("time", body.Time);
        return o.End() ? output.ToString() : null;
    }

    private static bool WriteApproval(StringBuilder output, ApprovalEvidence approval)
    {
        var o = new CanonicalObject(output);
        o.String("act", approval.Act);
        o.String("bindingDigest", approval.BindingDigest);
        o.String("expiresAt", approval.ExpiresAt);
        o.String("id", approval.Id);
        o.String("reason", approval.Reason);
        o.String("requester", approval.Requester);
        o.Number("required", approval.Required);
        o.Number("sessionRisk", approval.SessionRisk);
        o.Strings("timeline", approval.Timeline);
        return o.End();
    }

    /// <summary>One JSON object being written; members must come in JCS order. Remembers whether every string was well-formed.</summary>
    private sealed class CanonicalObject(StringBuilder output)
    {
        private bool empty = true;
        private bool wellFormed = true;

        public void Name(string name)
        {
            output.Append(empty ? '{' : ',');
            empty = false;
            JsonCanonicalizer.WriteString(output, name);
            output.Append(':');
        }

        public void String(string name, string? value)
        {
            if (value is null) return;
            Name(name);
            Text(value);
        }

        public void Number(string name, long? value)
        {
            if (value is not { } number) return;
            Name(name);
            // As the general path does: a JSON number is canonicalized as the double it denotes.
            output.Append(JsonCanonicalizer.SerializeNumber(number));
        }

        public void Bool(string name, bool? value)
        {
            if (value is not { } flag) return;
            Name(name);
            output.Append(flag ? "true" : "false");
        }

        public void Strings(string name, IReadOnlyList<string>? values)
        {
            if (values is null) return;
            Name(name);
            output.Append('[');
            for (var i = 0; i < values.Count; i++)
            {
                if (i > 0) output.Append(',');
                if (values[i] is { } item) Text(item);
                else output.Append("null");
            }
            output.Append(']');
        }

        /// <summary>Closes the object; false when a string was not well-formed UTF-16.</summary>
        public bool End()
        {
            output.Append(empty ? "{}" : "}");
            return wellFormed;
        }

        private void Text(string value)
        {
            wellFormed &= IsWellFormed(value);
            JsonCanonicalizer.WriteString(output, value);
        }
    }

    private static bool IsWellFormed(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (!char.IsSurrogate(value[i])) continue;
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1])) i++;
            else return false;
        }
        return true;
    }
}
