using System.Text.Json;
using RuntimeAuthz.Policy.Schema;

namespace RuntimeAuthz.Policy.Conformance;

/// <summary>
/// Runs the Cedar team's integration tests (cedar-integration-tests format) against this engine.
/// Entities and context are interpreted with the test's schema, as Cedar's own harness does.
/// </summary>
public static class ConformanceRunner
{
    public static int Run(string root, TextWriter output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(output);
        int passed = 0, failed = 0;
        var files = Directory.EnumerateFiles(root, "*.json", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".entities.json", StringComparison.OrdinalIgnoreCase))
            .OrderBy(f => f, StringComparer.Ordinal);
        foreach (var file in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var relative = Path.GetRelativePath(root, file);
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(File.ReadAllText(file));
            }
            catch (JsonException)
            {
                continue; // not a test file
            }
            using (document)
            {
                var test = document.RootElement;
                if (test.ValueKind != JsonValueKind.Object || !test.TryGetProperty("requests", out var requests) || !test.TryGetProperty("policies", out _))
                    continue;
                var (p, f) = RunTest(root, relative, test, requests, output);
                passed += p;
                failed += f;
            }
        }
        output.WriteLine($"conformance: {passed} passed, {failed} failed");
        return failed == 0 ? 0 : 1;
    }

    private static (int Passed, int Failed) RunTest(string root, string relative, JsonElement test, JsonElement requests, TextWriter output)
    {
        var count = requests.GetArrayLength();
        PolicySet policies;
        EntityStore entities;
        CedarSchema? schema = null;
        try
        {
            var policyPath = test.GetProperty("policies").GetString()!;
            policies = PolicySet.Parse(File.ReadAllText(Path.Combine(root, policyPath)), policyPath);
            if (test.TryGetProperty("schema", out var schemaPath) && schemaPath.GetString() is { } sp && File.Exists(Path.Combine(root, sp)))
                schema = CedarSchema.Parse(File.ReadAllText(Path.Combine(root, sp)), sp);
            var entitiesPath = test.GetProperty("entities").GetString()!;
            entities = EntityStore.FromJson(File.ReadAllText(Path.Combine(root, entitiesPath)), schema, entitiesPath);
        }
        catch (Exception e) when (e is CedarSyntaxException or IOException or ArgumentException or InvalidOperationException or KeyNotFoundException)
        {
            for (var i = 0; i < count; i++)
                output.WriteLine($"FAIL {relative} #{i} {Description(requests[i])}: could not load the test: {e.Message}");
            return (0, count);
        }

        int passed = 0, failed = 0;
        for (var i = 0; i < count; i++)
        {
            var request = requests[i];
            var problem = RunRequest(request, policies, entities, schema);
            if (problem is null) passed++;
            else
            {
                failed++;
                output.WriteLine($"FAIL {relative} #{i} {Description(request)}: {problem}");
            }
        }
        return (passed, failed);
    }

    private static string Description(JsonElement request) =>
        request.TryGetProperty("description", out var d) ? d.GetString() ?? "" : "";

    private static string? RunRequest(JsonElement request, PolicySet policies, EntityStore entities, CedarSchema? schema)
    {
        AuthorizationResponse response;
        try
        {
            var principal = ReadUid(request, "principal");
            var action = ReadUid(request, "action");
            var resource = ReadUid(request, "resource");
            var contextJson = request.TryGetProperty("context", out var c) ? c.GetRawText() : "{}";
            var context = CedarContext.FromJson(contextJson, schema, action, "context");
            var authorizationRequest = new AuthorizationRequest(principal, action, resource, context);
            // Cedar's runner builds such requests with the schema, which refuses one the schema does not allow.
            if (schema is not null && request.TryGetProperty("validateRequest", out var validate) && validate.ValueKind == JsonValueKind.True
                && RequestValidator.Validate(authorizationRequest, schema) is { Count: > 0 } invalid)
                return $"the request does not validate against the schema: {string.Join("; ", invalid.Select(e => e.Message))}";
            response = Authorizer.IsAuthorized(authorizationRequest, policies, entities);
        }
        catch (Exception e) when (e is CedarSyntaxException or ArgumentException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            return $"could not run the request: {e.Message}";
        }

        var expectedDecision = request.GetProperty("decision").GetString()!;
        var actualDecision = response.Decision == Decision.Allow ? "allow" : "deny";
        var problems = new List<string>();
        if (!string.Equals(expectedDecision, actualDecision, StringComparison.OrdinalIgnoreCase))
            problems.Add($"decision {actualDecision}, expected {expectedDecision.ToLowerInvariant()}");
        CompareIds("reason", request, response.Reasons, problems);
        CompareIds("errors", request, response.Errors.Select(e => e.PolicyId).ToList(), problems, response.Errors);
        return problems.Count == 0 ? null : string.Join("; ", problems);
    }

    private static void CompareIds(string property, JsonElement request, IReadOnlyCollection<string> actual, List<string> problems, IReadOnlyList<PolicyEvaluationError>? errors = null)
    {
        var expected = new HashSet<string>(StringComparer.Ordinal);
        if (request.TryGetProperty(property, out var list))
            foreach (var item in list.EnumerateArray()) expected.Add(item.GetString()!);
        if (expected.SetEquals(actual)) return;
        var detail = errors is { Count: > 0 } ? $" ({string.Join("; ", errors.Select(e => $"{e.PolicyId}: {e.Message}"))})" : "";
        problems.Add($"{property} [{string.Join(", ", actual.Order(StringComparer.Ordinal))}], expected [{string.Join(", ", expected.Order(StringComparer.Ordinal))}]{detail}");
    }

    private static EntityUid ReadUid(JsonElement request, string property)
    {
        if (!request.TryGetProperty(property, out var element) || element.ValueKind != JsonValueKind.Object)
            throw new ArgumentException($"the request has no {property}");
        if (element.TryGetProperty("__entity", out var inner)) element = inner;
        return new EntityUid(element.GetProperty("type").GetString()!, element.GetProperty("id").GetString()!);
    }
}
