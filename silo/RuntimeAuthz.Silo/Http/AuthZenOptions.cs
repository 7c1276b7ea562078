using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Silo.Http;

/// <summary>How AuthZEN requests map to Cedar (configuration section <c>AuthZen</c>).</summary>
public sealed class AuthZenOptions
{
    public const string Section = "AuthZen";
    public const string TrustSubject = "subject";
    public const string TrustResource = "resource";
    public const string AnyCaller = "*";

    /// <summary>
    /// AuthZEN <c>subject.type</c> → Cedar principal type. Unlisted types have their first letter upper-cased
    /// (<c>user</c> → <c>User</c>); <c>agent</c> is always the agent path (<c>Agent</c>, its grants, its sessions).
    /// </summary>
    public Dictionary<string, string> SubjectTypes { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Agents decide only inside a session (<c>context.session_id</c> required); false lets them decide session-less too.</summary>
    public bool AgentsRequireSession { get; set; } = true;

    /// <summary>
    /// Which callers' <c>subject.properties</c> and <c>resource.properties</c> are used: caller subject (the token's
    /// <c>sub</c>) or <c>*</c> → <c>subject</c>, <c>resource</c>, both (<c>"subject,resource"</c>) or <c>none</c>. A caller's own
    /// entry replaces <c>*</c>. By default every caller is trusted for resource properties (as before the entity store)
    /// and nobody for subject properties. Stored attributes win over trusted properties either way.
    /// </summary>
    public Dictionary<string, string> TrustedProperties { get; set; } = new(StringComparer.Ordinal) { [AnyCaller] = TrustResource };

    public string CedarTypeOf(string subjectType) =>
        SubjectTypes.TryGetValue(subjectType, out var mapped) ? mapped
            : subjectType.Length == 0 ? subjectType : char.ToUpperInvariant(subjectType[0]) + subjectType[1..];

    /// <summary>Whether <paramref name="caller"/>'s properties of <paramref name="part"/> (subject or resource) are used.</summary>
    public bool Trusts(Caller caller, string part)
    {
        var entry = TrustedProperties.TryGetValue(caller.Subject, out var own) ? own : TrustedProperties.GetValueOrDefault(AnyCaller, "");
        return entry.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Contains(part, StringComparer.OrdinalIgnoreCase);
    }
}
