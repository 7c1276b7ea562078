namespace RuntimeAuthz.Cli.Tests;

/// <summary>Response bodies in the wire format of docs HTTP_API (camelCase, enums as strings).</summary>
internal static class Samples
{
    public const string Agent = """
        {"id":"billing-bot","name":"Billing bot","owner":"finance-ops","fleet":"billing","labels":{"env":"prod"},
         "status":"active","registeredAt":"2026-11-28T10:00:00Z",
         "delegations":[{"id":"d-1","actions":["read_invoice","refund"],"resources":["Invoice::*"],"grantedBy":"alice",
                         "purpose":"month end","grantedAt":"2026-11-28T10:05:00Z","expiresAt":"2099-01-01T00:00:00Z"}]}
        """;

    public const string Session = """
        {"id":"s-42","agentId":"billing-bot","status":"open","openedAt":"2026-11-28T10:10:00Z","expiresAt":"2099-01-01T00:00:00Z",
         "idleTimeoutSeconds":900,"lastActivityAt":"2026-11-28T10:10:00Z","cumulativeRisk":0,"decisionCount":0,"events":[]}
        """;

    public static string Decision(string outcome, string? denyReason = null) => $$"""
        {"decisionId":"dec-1","outcome":"{{outcome}}","reasons":["policy0"],"errors":[],"policyVersion":3,
         {{(denyReason is null ? "" : $"\"denyReason\":\"{denyReason}\",")}}
         "sessionId":"s-42","agentId":"billing-bot","decidedAt":"2026-11-28T10:11:00Z"}
        """;

    public const string PolicyProblem = """
        {"type":"https://runtimeauthz/problems/policy-invalid","title":"Policy is invalid","status":400,
         "detail":"2 errors","errors":[{"line":3,"column":7,"message":"expected ';'","source":"policies"},
                                        {"line":1,"column":1,"message":"unknown type Foo","source":"schema"}]}
        """;
}
