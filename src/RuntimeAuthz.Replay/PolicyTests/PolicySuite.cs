using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Replay.PolicyTests;

/// <summary>A position in a suite file, printed as <c>file:line:column</c>.</summary>
public sealed record SuiteLocation(string File, int Line, int Column)
{
    public override string ToString() => $"{File}:{Line}:{Column}";
}

/// <summary>A suite file that cannot be run: where, and why.</summary>
public sealed class PolicySuiteException(SuiteLocation location, string problem) : Exception($"{location}: {problem}")
{
    public SuiteLocation Location { get; } = location;
    public string Problem { get; } = problem;
}

/// <summary>What a request step must be decided as; null parts are not checked.</summary>
public sealed record ExpectedDecision(DecisionOutcome Outcome, string? DenyReason, IReadOnlyList<string>? Policies);

/// <summary>One step of a case: a decision to make, or the outcome of the previous allowed one, after <see cref="Wait"/>.</summary>
public sealed record SuiteStep(SuiteLocation Location, TimeSpan Wait, DecisionRequest? Request, ExpectedDecision? Expect, bool ReportsError, string? OutputJson);

/// <summary>One test case: an agent's session, one request or a trace of requests and outcomes.</summary>
public sealed record SuiteCase(string Name, SuiteLocation Location, string AgentId, IReadOnlyList<SuiteStep> Steps);

/// <summary>
/// A policy test suite (<c>*.cedartest.json</c>): the policy files it tests (paths relative to it), the
/// agents and grants the cases act as, and the cases. See docs/policy-tests.md.
/// </summary>
public sealed record PolicySuite(
    string File, string? PoliciesPath, string? SchemaPath, string? CatalogPath, DateTimeOffset Start,
    IReadOnlyDictionary<string, AgentInfo> Agents, IReadOnlyList<SuiteCase> Cases)
{
    public const string FileSuffix = ".cedartest.json";
    public static readonly DateTimeOffset DefaultStart = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
    /// <summary>Grants of a fixture that names none: everything (a suite tests the policies; delegation is tested where it is made).</summary>
    public static readonly IReadOnlyList<string> Everything = ["*"];
    public const int MaxCases = 10_000;
    public const int MaxSteps = 10_000;
    public const int MaxFileBytes = 4 * 1024 * 1024;

    /// <summary>Reads and checks a suite text; every problem names its place in <paramref name="file"/>.</summary>
    public static PolicySuite Parse(string text, string file) => new SuiteReader(text, file).Read();

    public static async Task<PolicySuite> LoadAsync(string path, CancellationToken cancellationToken)
    {
        var info = new FileInfo(path);
        if (info.Exists && info.Length > MaxFileBytes)
            throw new PolicySuiteException(new SuiteLocation(path, 1, 1), $"the suite is larger than {MaxFileBytes / (1024 * 1024)} MiB");
        return Parse(await System.IO.File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false), path);
    }

    /// <summary>Suite files under <paramref name="path"/> (a folder, searched recursively, or one file), in a stable order.</summary>
    public static IReadOnlyList<string> Find(string path)
    {
        if (System.IO.File.Exists(path)) return [path];
        if (!Directory.Exists(path)) return [];
        return [.. Directory.EnumerateFiles(path, "*" + FileSuffix, SearchOption.AllDirectories).Order(StringComparer.Ordinal)];
    }
}

/// <summary>The suite format, read member by member so that every complaint has a line and column.</summary>
internal sealed class SuiteReader
{
    private static readonly string[] TopKeys = ["policies", "schema", "catalog", "start", "agents", "cases", "description"];
    private static readonly string[] AgentKeys = ["name", "owner", "fleet", "labels", "status", "grants"];
    private static readonly string[] GrantKeys = ["id", "actions", "resources", "condition", "purpose", "expiresAfter"];
    private static readonly string[] RequestKeys = ["action", "resource", "context", "input", "expect", "wait"];
    private static readonly string[] CaseKeys = [.. RequestKeys, "name", "agent", "steps"];
    private static readonly string[] StepKeys = [.. RequestKeys, "report", "output"];
    private static readonly string[] ResourceKeys = ["type", "id", "properties"];
    private static readonly string[] ExpectKeys = ["outcome", "denyReason", "policies"];

    private readonly string text;
    private readonly string file;
    private JsonPositions positions = null!;

    public SuiteReader(string text, string file) => (this.text, this.file) = (text, file);

    private SuiteLocation At(string pointer)
    {
        var (line, column) = positions[pointer];
        return new SuiteLocation(file, line, column);
    }

    private PolicySuiteException Problem(string pointer, string message) => new(At(pointer), message);

    public PolicySuite Read()
    {
        JsonNode? root;
        try
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            root = JsonNode.Parse(bytes, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            positions = JsonPositions.Of(bytes);
        }
        catch (JsonException ex)
        {
            throw new PolicySuiteException(new SuiteLocation(file, (int)(ex.LineNumber ?? 0) + 1, (int)(ex.BytePositionInLine ?? 0) + 1),
                $"not valid JSON: {FirstSentence(ex.Message)}");
        }
        if (root is not JsonObject top) throw new PolicySuiteException(new SuiteLocation(file, 1, 1), "a suite is a JSON object with \"policies\", \"agents\" and \"cases\"");
        Only(top, "", TopKeys);
        var start = PolicySuite.DefaultStart;
        if (top["start"] is { } startNode)
        {
            if (!DateTimeOffset.TryParse(String(startNode, "/start"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out start))
                throw Problem("/start", "start must be an ISO 8601 time such as 2030-01-01T00:00:00Z");
        }
        var agents = new Dictionary<string, AgentInfo>(StringComparer.Ordinal);
        if (top["agents"] is { } agentsNode)
        {
            if (agentsNode is not JsonObject agentObject) throw Problem("/agents", "agents must be an object: agent id -> {fleet, owner, labels, status, grants}");
            foreach (var (id, fixture) in agentObject) agents[id] = Agent(id, fixture, $"/agents/{Escape(id)}", start);
        }
        if (top["cases"] is not JsonArray cases || cases.Count == 0) throw Problem(top["cases"] is null ? "" : "/cases", "cases must be a non-empty array");
        if (cases.Count > PolicySuite.MaxCases) throw Problem("/cases", $"a suite holds at most {PolicySuite.MaxCases} cases");
        var read = new List<SuiteCase>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < cases.Count; i++)
        {
            var suiteCase = Case(cases[i], $"/cases/{i}", agents);
            if (!names.Add(suiteCase.Name)) throw Problem($"/cases/{i}/name", $"case name '{suiteCase.Name}' is used twice");
            read.Add(suiteCase);
        }
        return new PolicySuite(file, OptionalString(top, "policies", ""), OptionalString(top, "schema", ""), OptionalString(top, "catalog", ""), start, agents, read);
    }

    private AgentInfo Agent(string id, JsonNode? node, string pointer, DateTimeOffset start)
    {
        if (string.IsNullOrWhiteSpace(id)) throw Problem(pointer, "an agent id must not be blank");
        if (node is not JsonObject fixture) throw Problem(pointer, $"agent '{id}' must be an object");
        Only(fixture, pointer, AgentKeys);
        var status = AgentStatus.Active;
        if (OptionalString(fixture, "status", pointer) is { } statusText && !Enum.TryParse(statusText, ignoreCase: true, out status))
            throw Problem($"{pointer}/status", "status must be active, suspended or revoked");
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (fixture["labels"] is { } labelsNode)
        {
            if (labelsNode is not JsonObject labelObject) throw Problem($"{pointer}/labels", "labels must be an object of strings");
            foreach (var (key, value) in labelObject) labels[key] = String(value, $"{pointer}/labels/{Escape(key)}");
        }
        IReadOnlyList<Delegation> grants = [new Delegation { Id = $"{id}-all", Actions = PolicySuite.Everything, Resources = PolicySuite.Everything, GrantedBy = "policy-tests", GrantedAt = start, ExpiresAt = DateTimeOffset.MaxValue }];
        if (fixture["grants"] is { } grantsNode)
        {
            if (grantsNode is not JsonArray grantArray) throw Problem($"{pointer}/grants", "grants must be an array of {actions, resources, condition?, expiresAfter?}");
            grants = [.. grantArray.Select((g, i) => Grant(id, g, $"{pointer}/grants/{i}", i, start))];
        }
        return new AgentInfo
        {
            Id = id, Name = OptionalString(fixture, "name", pointer) ?? id, Owner = OptionalString(fixture, "owner", pointer) ?? "owner@example.com",
            Fleet = OptionalString(fixture, "fleet", pointer) ?? "default", Labels = labels, Status = status, Delegations = grants,
            RegisteredAt = start, UpdatedAt = start,
        };
    }

    private Delegation Grant(string agentId, JsonNode? node, string pointer, int index, DateTimeOffset start)
    {
        if (node is not JsonObject grant) throw Problem(pointer, "a grant must be an object");
        Only(grant, pointer, GrantKeys);
        var resources = Strings(grant, "resources", pointer);
        for (var i = 0; i < resources.Count; i++)
        {
            if (!Grains.ResourcePattern.TryParse(resources[i], out _, out var why))
                throw Problem($"{pointer}/resources/{i}", $"'{resources[i]}' is not a resource pattern: {why}");
        }
        var condition = OptionalString(grant, "condition", pointer);
        if (condition is not null && Grains.Governance.GrantRules.CheckCondition(condition) is { } issue)
            throw Problem($"{pointer}/condition", $"the condition does not parse: {issue.Message}");
        var expires = OptionalString(grant, "expiresAfter", pointer) is { } after ? start + Duration(after, $"{pointer}/expiresAfter") : DateTimeOffset.MaxValue;
        return new Delegation
        {
            Id = OptionalString(grant, "id", pointer) ?? $"{agentId}-grant-{index + 1}", Actions = Strings(grant, "actions", pointer), Resources = resources,
            Condition = condition, Purpose = OptionalString(grant, "purpose", pointer), GrantedBy = "policy-tests", GrantedAt = start, ExpiresAt = expires,
        };
    }

    private SuiteCase Case(JsonNode? node, string pointer, Dictionary<string, AgentInfo> agents)
    {
        if (node is not JsonObject testCase) throw Problem(pointer, "a case must be an object");
        Only(testCase, pointer, CaseKeys);
        var name = OptionalString(testCase, "name", pointer) ?? throw Problem(pointer, "a case needs a \"name\"");
        var agent = OptionalString(testCase, "agent", pointer) ?? throw Problem(pointer, $"case '{name}' needs an \"agent\"");
        if (!agents.ContainsKey(agent)) throw Problem($"{pointer}/agent", $"agent '{agent}' is not among the suite's agents");
        var steps = new List<SuiteStep>();
        if (testCase["steps"] is { } stepsNode)
        {
            if (testCase.ContainsKey("action")) throw Problem($"{pointer}/steps", "a case is either one request (action, resource, ...) or steps, not both");
            if (stepsNode is not JsonArray stepArray || stepArray.Count == 0) throw Problem($"{pointer}/steps", "steps must be a non-empty array");
            if (stepArray.Count > PolicySuite.MaxSteps) throw Problem($"{pointer}/steps", $"a case holds at most {PolicySuite.MaxSteps} steps");
            for (var i = 0; i < stepArray.Count; i++)
            {
                var stepPointer = $"{pointer}/steps/{i}";
                if (stepArray[i] is not JsonObject step) throw Problem(stepPointer, "a step must be an object");
                Only(step, stepPointer, StepKeys);
                steps.Add(step.ContainsKey("report") ? Report(step, stepPointer, steps) : Request(step, stepPointer, agent));
            }
        }
        else
        {
            steps.Add(Request(testCase, pointer, agent));
        }
        return new SuiteCase(name, At(pointer), agent, steps);
    }

    private SuiteStep Report(JsonObject step, string pointer, List<SuiteStep> before)
    {
        if (step.ContainsKey("action") || step.ContainsKey("expect")) throw Problem($"{pointer}/report", "a report step reports the previous request's outcome; it has no action or expect");
        if (!before.Any(s => s.Request is not null)) throw Problem($"{pointer}/report", "a report step must follow a request step");
        var kind = OptionalString(step, "report", pointer);
        if (kind is not ("response" or "error")) throw Problem($"{pointer}/report", "report must be \"response\" or \"error\"");
        return new SuiteStep(At(pointer), Wait(step, pointer), null, null, kind == "error", step["output"]?.ToJsonString());
    }

    private SuiteStep Request(JsonObject step, string pointer, string agentId)
    {
        var action = OptionalString(step, "action", pointer) ?? throw Problem(pointer, "a request needs an \"action\"");
        if (step["resource"] is not JsonObject resource) throw Problem(step.ContainsKey("resource") ? $"{pointer}/resource" : pointer, "a request needs a \"resource\": {type, id, properties?}");
        Only(resource, $"{pointer}/resource", ResourceKeys);
        var type = OptionalString(resource, "type", $"{pointer}/resource") ?? throw Problem($"{pointer}/resource", "the resource needs a \"type\"");
        var id = OptionalString(resource, "id", $"{pointer}/resource") ?? throw Problem($"{pointer}/resource", "the resource needs an \"id\"");
        var properties = ObjectText(resource, "properties", $"{pointer}/resource");
        var context = ObjectText(step, "context", pointer);
        if (step["expect"] is null) throw Problem(pointer, "a request needs an \"expect\": \"Allow\", \"Deny\", \"ApprovalRequired\" or {outcome, denyReason?, policies?}");
        return new SuiteStep(At(pointer), Wait(step, pointer), new DecisionRequest
        {
            AgentId = agentId, Action = action, ResourceType = type, ResourceId = id, ResourcePropertiesJson = properties, ContextJson = context,
            InputJson = step["input"]?.ToJsonString(), Caller = "policy-tests",
        }, Expect(step["expect"]!, $"{pointer}/expect"), false, null);
    }

    private ExpectedDecision Expect(JsonNode node, string pointer)
    {
        if (node is JsonValue) return new ExpectedDecision(Outcome(String(node, pointer), pointer), null, null);
        if (node is not JsonObject expect) throw Problem(pointer, "expect must be an outcome or {outcome, denyReason?, policies?}");
        Only(expect, pointer, ExpectKeys);
        var outcome = Outcome(OptionalString(expect, "outcome", pointer) ?? throw Problem(pointer, "expect needs an \"outcome\""), $"{pointer}/outcome");
        var denyReason = OptionalString(expect, "denyReason", pointer);
        if (denyReason is not null && outcome != DecisionOutcome.Deny) throw Problem($"{pointer}/denyReason", "only a Deny has a deny reason");
        return new ExpectedDecision(outcome, denyReason, expect.ContainsKey("policies") ? Strings(expect, "policies", pointer, allowEmpty: true) : null);
    }

    private DecisionOutcome Outcome(string text, string pointer) =>
        Enum.TryParse<DecisionOutcome>(text, ignoreCase: false, out var outcome) && Enum.IsDefined(outcome) && !int.TryParse(text, out _)
            ? outcome
            : throw Problem(pointer, $"'{text}' is not an outcome: Allow, Deny or ApprovalRequired");

    private TimeSpan Wait(JsonObject step, string pointer) =>
        OptionalString(step, "wait", pointer) is { } wait ? Duration(wait, $"{pointer}/wait") : TimeSpan.Zero;

    /// <summary>"90s", "10m", "2h", "1d" (one number and one unit).</summary>
    private TimeSpan Duration(string text, string pointer)
    {
        var unit = text.Length > 0 ? text[^1] : ' ';
        if (!long.TryParse(text.AsSpan(0, Math.Max(0, text.Length - 1)), NumberStyles.None, CultureInfo.InvariantCulture, out var amount) || amount > 365L * 86400)
            throw Problem(pointer, $"'{text}' is not a duration such as 30s, 10m, 2h or 1d");
        return unit switch
        {
            's' => TimeSpan.FromSeconds(amount),
            'm' => TimeSpan.FromMinutes(amount),
            'h' => TimeSpan.FromHours(amount),
            'd' => TimeSpan.FromDays(Math.Min(amount, 365)),
            _ => throw Problem(pointer, $"'{text}' is not a duration such as 30s, 10m, 2h or 1d"),
        };
    }

    private string? ObjectText(JsonObject parent, string key, string pointer) => parent[key] switch
    {
        null => null,
        JsonObject value => value.ToJsonString(),
        _ => throw Problem($"{pointer}/{key}", $"{key} must be a JSON object"),
    };

    private void Only(JsonObject node, string pointer, string[] allowed)
    {
        foreach (var (key, _) in node)
        {
            if (!allowed.Contains(key, StringComparer.Ordinal))
                throw Problem($"{pointer}/{Escape(key)}", $"unknown member \"{key}\" (expected one of: {string.Join(", ", allowed)})");
        }
    }

    private string? OptionalString(JsonObject parent, string key, string pointer) =>
        parent[key] is { } value ? String(value, $"{pointer}/{key}") : null;

    private string String(JsonNode? node, string pointer) =>
        node is JsonValue value && value.TryGetValue<string>(out var text) ? text : throw Problem(pointer, "must be a string");

    private IReadOnlyList<string> Strings(JsonObject parent, string key, string pointer, bool allowEmpty = false)
    {
        if (parent[key] is not JsonArray array || (array.Count == 0 && !allowEmpty))
            throw Problem(parent.ContainsKey(key) ? $"{pointer}/{key}" : pointer, $"{key} must be a{(allowEmpty ? "n" : " non-empty")} array of strings");
        return [.. array.Select((item, i) => String(item, $"{pointer}/{key}/{i}"))];
    }

    private static string Escape(string name) => name.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    private static string FirstSentence(string message) => message.Split(" Path:", 2)[0].TrimEnd('.', ' ');
}
