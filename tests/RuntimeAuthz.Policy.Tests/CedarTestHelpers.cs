using RuntimeAuthz.Policy.Evaluation;

namespace RuntimeAuthz.Policy.Tests;

/// <summary>Evaluates single Cedar expressions through the real parser and evaluator.</summary>
internal static class Cedar
{
    public const string Entities = """
        [
          {"uid": {"type": "User", "id": "alice"}, "attrs": {"age": 30, "name": "Alice", "manager": {"__entity": {"type": "User", "id": "bob"}},
            "address": {"city": "Paris", "zip": "75001"}, "roles": ["admin", "dev"]},
           "parents": [{"type": "Group", "id": "staff"}], "tags": {"clearance": "secret", "level": 3}},
          {"uid": {"type": "User", "id": "bob"}, "attrs": {"age": 50}, "parents": [{"type": "Group", "id": "managers"}]},
          {"uid": {"type": "Group", "id": "staff"}, "attrs": {}, "parents": [{"type": "Group", "id": "everyone"}]},
          {"uid": {"type": "Group", "id": "managers"}, "attrs": {}, "parents": [{"type": "Group", "id": "staff"}]},
          {"uid": {"type": "Group", "id": "everyone"}, "attrs": {}, "parents": []},
          {"uid": {"type": "Doc", "id": "d1"}, "attrs": {"owner": {"__entity": {"type": "User", "id": "alice"}}, "public": false}, "parents": [{"type": "Folder", "id": "f1"}]},
          {"uid": {"type": "Folder", "id": "f1"}, "attrs": {}, "parents": []},
          {"uid": {"type": "Action", "id": "view"}, "attrs": {}, "parents": [{"type": "Action", "id": "read"}]}
        ]
        """;

    private static readonly Lazy<EntityStore> Store = new(() => EntityStore.FromJson(Entities));

    public static EvalEnv Env(string contextJson = """{"mfa": true, "n": 5, "ip": {"__extn": {"fn": "ip", "arg": "10.1.2.3"}}}""") => new(
        new EntityValue(new EntityUid("User", "alice")),
        new EntityValue(new EntityUid("Action", "view")),
        new EntityValue(new EntityUid("Doc", "d1")),
        CedarContext.FromJson(contextJson).Record,
        Store.Value);

    public static Expr Compile(string expression) => Parsing.PolicyParser.ParseExpression(expression, "test", 1, 1);

    public static Value Eval(string expression) => Compile(expression).Eval(Env());

    /// <summary>Asserts both expressions evaluate to equal Cedar values.</summary>
    public static void Same(string expected, string actual)
    {
        var want = Eval(expected);
        var got = Eval(actual);
        Assert.True(want.Equals(got), $"{actual} evaluated to {got}, expected {want} (from {expected})");
    }

    public static void True(string expression) => Same("true", expression);
    public static void False(string expression) => Same("false", expression);

    /// <summary>Asserts evaluation fails at a known place in the expression; returns the kind of error.</summary>
    public static CedarErrorKind Fails(string expression)
    {
        var expr = Compile(expression);
        var error = Assert.Throws<EvaluationException>(() => expr.Eval(Env()));
        Assert.False(error.Span.IsNone, $"the error '{error.Message}' has no position");
        return error.Kind;
    }

    public static AuthorizationResponse Authorize(string policies, string principal = "alice", string action = "view", string resource = "d1", string contextJson = "{}")
    {
        var request = new AuthorizationRequest(new EntityUid("User", principal), new EntityUid("Action", action), new EntityUid("Doc", resource), CedarContext.FromJson(contextJson));
        return Authorizer.IsAuthorized(request, PolicySet.Parse(policies), Store.Value);
    }
}
