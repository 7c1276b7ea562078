namespace RuntimeAuthz;

/// <summary>
/// Problem <c>type</c> URIs (RFC 9457) of refusals that a client acts on by their kind: the <c>detail</c> text is for people and
/// may be reworded, the type is not. Refusals without one of these have the default type of their status.
/// </summary>
public static class ProblemTypes
{
    /// <summary>
    /// 409 to an outcome report: the decision's outcome is already recorded. After a report whose answer was lost (no
    /// connection, no answer in time, a 503), it means the earlier attempt landed.
    /// </summary>
    public const string OutcomeAlreadyReported = "urn:runtimeauthz:problem:outcome-already-reported";
}
