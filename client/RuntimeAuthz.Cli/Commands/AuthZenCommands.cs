using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RuntimeAuthz.Cli.Infrastructure;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.Cli.Commands;

/// <summary>
/// <c>authz authzen interop &lt;url&gt; &lt;file&gt;</c>: sends a decisions file in the AuthZEN interop format
/// (<c>{"evaluation": [{request, expected}], "evaluations": [{request, expected}]}</c>) to any AuthZEN PDP and
/// reports every answer that differs from the expected one. Exit code 0 only when every case matched.
/// </summary>
public static class AuthZenCommands
{
    public static Command Create(CommandRunner runner)
    {
        var url = new Argument<string>("url") { Description = "Base address of the AuthZEN PDP (the part before /access/v1/...)" };
        var file = new Argument<string>("file") { Description = "Decisions file in the interop format" };
        var interop = new Command("interop",
            "Send an AuthZEN interop decisions file to a PDP (POST /access/v1/evaluation and /access/v1/evaluations) and compare each answer " +
            "with its expected decision. Prints one line per mismatch and 'interop: N passed, M failed' (a batch counts once). " +
            "Sends a bearer token only when one is given (--token, $AUTHZ_TOKEN, or --as for a development silo). Exit code 0 only when all passed")
        {
            url, file,
        };
        runner.SetAction(interop, async (call, cancellationToken) =>
        {
            var pdp = ParsePdpAddress(call.Required(url));
            var cases = InteropFile.Load(call.Required(file));
            var token = TokenFor(call, runner, pdp);
            var results = new List<InteropResult>(cases.Count);
            foreach (var item in cases)
            {
                results.Add(await RunAsync(call.Http, pdp, token, item, cancellationToken).ConfigureAwait(false));
            }
            var passed = results.Count(r => r.Passed);
            var failed = results.Count - passed;
            if (call.Json)
            {
                Display.Json(call.Output, new
                {
                    passed,
                    failed,
                    mismatches = results.Where(r => !r.Passed).Select(r => new { @case = r.Case.Name, problems = r.Problems }),
                });
            }
            else
            {
                foreach (var result in results.Where(r => !r.Passed))
                {
                    foreach (var problem in result.Problems) call.Output.WriteLine($"MISMATCH {result.Case.Name}{result.Case.Summary}: {problem}");
                }
                call.Output.WriteLine($"interop: {passed} passed, {failed} failed");
            }
            return failed == 0 ? ExitCodes.Success : ExitCodes.Error;
        });
        return new Command("authzen", "Work with any OpenID AuthZEN 1.0 policy decision point") { interop };
    }

    private static Uri ParsePdpAddress(string text)
    {
        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var address) || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
        {
            throw new UserInputException($"url: '{text}' is not an http(s) address such as http://127.0.0.1:5080");
        }
        return new Uri(address.AbsoluteUri.TrimEnd('/') + "/");
    }

    /// <summary>
    /// Interop PDPs are often open, so unlike the other commands there is no default identity: a token is sent only when
    /// the caller configured one (--token, AUTHZ_TOKEN) or asked a development silo for one (--as).
    /// </summary>
    private static IAccessTokenSource? TokenFor(Invocation call, CommandRunner runner, Uri pdp)
    {
        var configured = call.Get(runner.TokenOption) is { Length: > 0 } option ? option : call.Environment.GetVariable(Credentials.TokenVariable);
        var who = call.Get(runner.AsOption);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return string.IsNullOrWhiteSpace(who)
                ? new StaticTokenSource(configured)
                : throw new UserInputException("--as picks a development identity, but a token is configured (--token or AUTHZ_TOKEN); use one or the other");
        }
        if (string.IsNullOrWhiteSpace(who)) return null;
        try
        {
            return new DevelopmentTokenSource(call.Http, pdp, DevelopmentIdentity.Parse(who), call.Environment.Time);
        }
        catch (FormatException exception)
        {
            throw new UserInputException($"--as: {exception.Message}");
        }
    }

    private static async Task<InteropResult> RunAsync(HttpClient http, Uri pdp, IAccessTokenSource? token, InteropCase item, CancellationToken cancellationToken)
    {
        var endpoint = new Uri(pdp, item.IsBatch ? "access/v1/evaluations" : "access/v1/evaluation");
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint)
        {
            Content = new StringContent(item.Request.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        if (token is not null)
        {
            var bearer = await token.GetTokenAsync(cancellationToken).ConfigureAwait(false);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer.Value);
        }
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException exception)
        {
            throw new UserInputException($"cannot reach the AuthZEN PDP at {endpoint}: {exception.Message}");
        }
        catch (TaskCanceledException exception) when (!cancellationToken.IsCancellationRequested)
        {
            throw new UserInputException($"the AuthZEN PDP at {endpoint} did not answer in time ({exception.Message})");
        }
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return item.Fail($"HTTP {(int)response.StatusCode} from {endpoint.AbsolutePath}: {Shorten(body)}");
            }
            JsonNode? answer;
            try
            {
                answer = JsonNode.Parse(body);
            }
            catch (JsonException)
            {
                return item.Fail($"the answer is not JSON: {Shorten(body)}");
            }
            return item.IsBatch ? CompareBatch(item, answer) : CompareSingle(item, answer);
        }
    }

    private static InteropResult CompareSingle(InteropCase item, JsonNode? answer)
    {
        var decision = DecisionOf(answer);
        return decision == item.Expected[0]
            ? item.Pass()
            : item.Fail($"expected {Text(item.Expected[0])}, got {Describe(answer, decision)}");
    }

    private static InteropResult CompareBatch(InteropCase item, JsonNode? answer)
    {
        if (answer is not JsonObject { } body || body["evaluations"] is not JsonArray evaluations)
        {
            return item.Fail($"the answer has no evaluations array: {Shorten(answer?.ToJsonString() ?? "null")}");
        }
        var problems = new List<string>();
        if (evaluations.Count != item.Expected.Count)
        {
            problems.Add($"expected {item.Expected.Count} decisions, got {evaluations.Count}");
        }
        for (var i = 0; i < Math.Min(evaluations.Count, item.Expected.Count); i++)
        {
            var decision = DecisionOf(evaluations[i]);
            if (decision != item.Expected[i])
            {
                problems.Add($"evaluations[{i}]{InteropCase.SummaryOf(item.Request["evaluations"]?[i])}: expected {Text(item.Expected[i])}, got {Describe(evaluations[i], decision)}");
            }
        }
        return problems.Count == 0 ? item.Pass() : new InteropResult(item, problems);
    }

    private static bool? DecisionOf(JsonNode? answer) =>
        answer is JsonObject body && body["decision"] is JsonValue value && value.GetValueKind() is JsonValueKind.True or JsonValueKind.False
            ? value.GetValue<bool>()
            : null;

    private static string Text(bool decision) => decision ? "true" : "false";

    private static string Describe(JsonNode? answer, bool? decision) =>
        decision is { } value ? Text(value) : $"no boolean decision ({Shorten(answer?.ToJsonString() ?? "null")})";

    private static string Shorten(string text)
    {
        var line = text.ReplaceLineEndings(" ").Trim();
        return line.Length <= 200 ? line : string.Concat(line.AsSpan(0, 200), "...");
    }

    private sealed record InteropResult(InteropCase Case, IReadOnlyList<string> Problems)
    {
        public bool Passed => Problems.Count == 0;
    }

    /// <summary>One entry of the file: a single evaluation (one expected decision) or a batch (one per item).</summary>
    private sealed record InteropCase(string Name, bool IsBatch, JsonObject Request, IReadOnlyList<bool> Expected)
    {
        public string Summary => SummaryOf(Request);

        public InteropResult Pass() => new(this, []);

        public InteropResult Fail(string problem) => new(this, [problem]);

        /// <summary>"(subject-type:id action resource-type:id)" from whatever parts the request has.</summary>
        public static string SummaryOf(JsonNode? request)
        {
            if (request is not JsonObject body) return "";
            var parts = new List<string>();
            if (Entity(body["subject"]) is { } subject) parts.Add(subject);
            if (body["action"]?["name"] is JsonValue action && action.GetValueKind() == JsonValueKind.String) parts.Add(action.GetValue<string>());
            if (Entity(body["resource"]) is { } resource) parts.Add(resource);
            return parts.Count == 0 ? "" : $" ({string.Join(' ', parts)})";
        }

        private static string? Entity(JsonNode? node) =>
            node is JsonObject entity ? $"{entity["type"]?.ToString() ?? "?"}:{entity["id"]?.ToString() ?? "?"}" : null;
    }

    /// <summary>Reads and checks the whole decisions file before anything is sent.</summary>
    private static class InteropFile
    {
        public static List<InteropCase> Load(string path)
        {
            string text;
            try
            {
                text = File.ReadAllText(path);
            }
            catch (FileNotFoundException)
            {
                throw new UserInputException($"{path}: file not found");
            }
            catch (DirectoryNotFoundException)
            {
                throw new UserInputException($"{path}: file not found");
            }
            JsonNode? root;
            try
            {
                root = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            }
            catch (JsonException exception)
            {
                // The reader counts lines and bytes from 0; editors count from 1.
                var line = (exception.LineNumber ?? 0) + 1;
                var column = (exception.BytePositionInLine ?? 0) + 1;
                throw new UserInputException($"{path}:{line.ToString(CultureInfo.InvariantCulture)}:{column.ToString(CultureInfo.InvariantCulture)}: not valid JSON: {FirstSentence(exception.Message)}");
            }
            if (root is not JsonObject file)
            {
                throw new UserInputException($"{path}: must be a JSON object with \"evaluation\" and/or \"evaluations\" arrays");
            }
            var cases = new List<InteropCase>();
            cases.AddRange(Entries(path, file, "evaluation", isBatch: false));
            cases.AddRange(Entries(path, file, "evaluations", isBatch: true));
            if (cases.Count == 0)
            {
                throw new UserInputException($"{path}: has no cases (\"evaluation\" and \"evaluations\" are both missing or empty)");
            }
            return cases;
        }

        private static IEnumerable<InteropCase> Entries(string path, JsonObject file, string key, bool isBatch)
        {
            if (file[key] is null) yield break;
            if (file[key] is not JsonArray entries)
            {
                throw new UserInputException($"{path}: {key} must be an array");
            }
            for (var i = 0; i < entries.Count; i++)
            {
                var name = $"{key}[{i.ToString(CultureInfo.InvariantCulture)}]";
                if (entries[i] is not JsonObject entry || entry["request"] is not JsonObject request)
                {
                    throw new UserInputException($"{path}: {name} must be an object with a \"request\" object");
                }
                var expected = isBatch ? BatchExpectations(path, name, entry["expected"]) : [SingleExpectation(path, name, entry["expected"])];
                if (isBatch && request["evaluations"] is not JsonArray)
                {
                    throw new UserInputException($"{path}: {name}.request must have an \"evaluations\" array");
                }
                if (isBatch && request["evaluations"]!.AsArray().Count is var count && count != expected.Count)
                {
                    throw new UserInputException($"{path}: {name} has {count.ToString(CultureInfo.InvariantCulture)} evaluations but {expected.Count.ToString(CultureInfo.InvariantCulture)} expected decisions");
                }
                yield return new InteropCase(name, isBatch, (JsonObject)request.DeepClone(), expected);
            }
        }

        private static bool SingleExpectation(string path, string name, JsonNode? expected) =>
            expected is JsonValue value && value.GetValueKind() is JsonValueKind.True or JsonValueKind.False
                ? value.GetValue<bool>()
                : throw new UserInputException($"{path}: {name}.expected must be true or false");

        private static List<bool> BatchExpectations(string path, string name, JsonNode? expected)
        {
            if (expected is not JsonArray items)
            {
                throw new UserInputException($"{path}: {name}.expected must be an array of {{\"decision\": true|false}}");
            }
            return items.Select((item, i) => item is JsonObject entry && entry["decision"] is JsonValue value && value.GetValueKind() is JsonValueKind.True or JsonValueKind.False
                    ? value.GetValue<bool>()
                    : throw new UserInputException($"{path}: {name}.expected[{i.ToString(CultureInfo.InvariantCulture)}] must be {{\"decision\": true|false}}"))
                .ToList();
        }

        private static string FirstSentence(string message)
        {
            // System.Text.Json appends " Path: $ | LineNumber: 3 | BytePositionInLine: 4." which the prefix already says.
            var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
            return cut > 0 ? message[..cut] : message;
        }
    }
}
