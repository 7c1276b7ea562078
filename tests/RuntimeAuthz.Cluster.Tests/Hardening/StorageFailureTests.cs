using System.Net;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Grains.Fleet;
using RuntimeAuthz.Silo.Http;

namespace RuntimeAuthz.Cluster.Tests.Hardening;

/// <summary>
/// Storage failing under a real silo host: the silo's table clients carry a pipeline policy that fails chosen requests
/// (as Azure.Core does: a 5xx or throttling answer, no connection at all, a network timeout). A transient failure is a
/// 503 with Retry-After and a message without internals, whether it happened in a grain's storage or in a table the
/// HTTP layer queries itself; a failure that a retry cannot cure stays a 500 with only a trace id; decisions still
/// answer Deny.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class StorageFailureTests(ClusterEnvironment env) : IAsyncLifetime
{
    private readonly StorageFaults grainStorage = new(), index = new(), evidence = new();
    private RunningHost host = null!;

    public async Task InitializeAsync()
    {
        host = await env.StartHostAsync(env.HostArgs("storage-faults-" + Guid.NewGuid().ToString("N")[..8], "Production",
            ["--Seed:Example=true", $"--Seed:Directory={RepoPaths.Examples}"]), builder =>
        {
            // Registered before the silo's own (which are TryAdd): grain state and the fleet/session index go through the faults.
            builder.Services.AddSingleton(_ => Client(grainStorage));
            builder.Services.AddKeyedSingleton(FleetIndex.TableClientKey, (_, _) => Client(index));
            builder.Services.AddKeyedSingleton(RuntimeAuthz.Grains.Evidence.EvidenceServices.TableClientKey, (_, _) => Client(evidence));
        });
    }

    public Task DisposeAsync() => host.StopAsync();

    private TableServiceClient Client(StorageFaults faults)
    {
        var options = new TableClientOptions();
        // Each failure reaches the caller at once (the silo's retries would only make the test slower, not different).
        options.Retry.MaxRetries = 0;
        options.AddPolicy(faults, HttpPipelinePosition.PerCall);
        return new TableServiceClient(env.Azurite.ConnectionString, options);
    }

    public static TheoryData<string> TransientKinds => ["server-busy", "throttled", "timed-out-at-storage", "no-connection", "network-timeout"];

    private static Exception Failure(string kind) => kind switch
    {
        "server-busy" => new RequestFailedException(503, "The server is busy. secret-detail", "ServerBusy", null),
        "throttled" => new RequestFailedException(429, "Too many requests. secret-detail", "TooManyRequests", null),
        "timed-out-at-storage" => new RequestFailedException(500, "Operation could not be completed within the specified time. secret-detail", "OperationTimedOut", null),
        // What Azure.Core throws when the request got no answer: status 0 around the transport's failure.
        "no-connection" => new RequestFailedException("Connection refused (127.0.0.1:10002) secret-detail", new HttpRequestException("Connection refused secret-detail")),
        // Azure.Core's network timeout cancels the request.
        "network-timeout" => new TaskCanceledException("The operation was cancelled because it exceeded the configured timeout. secret-detail"),
        "forbidden" => new RequestFailedException(403, "Server failed to authenticate the request. secret-detail", "AuthorizationFailure", null),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    [Theory]
    [MemberData(nameof(TransientKinds))]
    public async Task A_transient_failure_of_a_grains_storage_is_a_503_with_Retry_After_and_answers_again_once_storage_does(string kind)
    {
        var agentId = "stgfail" + Guid.NewGuid().ToString("N")[..12];
        grainStorage.FailWhen(m => m.Request.Uri.ToString().Contains(agentId, StringComparison.Ordinal) ? Failure(kind) : null);

        var failed = await host.Http.GetJsonAsync($"/v1/agents/{agentId}");
        var failures = grainStorage.Failed;
        grainStorage.Clear();
        var afterwards = await host.Http.GetJsonAsync($"/v1/agents/{agentId}");

        Assert.True(failures > 0, "the fault was never injected");
        Assert.Equal(TransientFailures.StorageMessage, failed.AssertProblem(HttpStatusCode.ServiceUnavailable));
        Assert.Equal(TransientFailures.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), failed.Response.Headers.GetValues("Retry-After").Single());
        AssertNoInternals(failed);
        // The failed activation is not kept: the next call reads storage again (the agent does not exist).
        afterwards.AssertProblem(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_storage_failure_a_retry_cannot_cure_stays_a_500_without_internals()
    {
        var agentId = "stgfail" + Guid.NewGuid().ToString("N")[..12];
        grainStorage.FailWhen(m => m.Request.Uri.ToString().Contains(agentId, StringComparison.Ordinal) ? Failure("forbidden") : null);

        var failed = await host.Http.GetJsonAsync($"/v1/agents/{agentId}");
        grainStorage.Clear();

        Assert.Contains("trace id", failed.AssertProblem(HttpStatusCode.InternalServerError), StringComparison.Ordinal);
        Assert.False(failed.Response.Headers.Contains("Retry-After"));
        AssertNoInternals(failed);
    }

    [Theory]
    [InlineData("/v1/sessions?agent={agent}")]
    [InlineData("/v1/agents/{agent}/sessions")]
    public async Task A_transient_failure_of_a_table_the_HTTP_layer_queries_itself_is_a_503(string path)
    {
        var agentId = await Scenario().NewAgentAsync();
        index.FailWhen(_ => Failure("server-busy"));

        var failed = await host.Http.GetJsonAsync(path.Replace("{agent}", agentId, StringComparison.Ordinal));
        var failures = index.Failed;
        index.Clear();
        var afterwards = await host.Http.GetJsonAsync(path.Replace("{agent}", agentId, StringComparison.Ordinal));

        Assert.True(failures > 0, "the fault was never injected");
        Assert.Equal(TransientFailures.StorageMessage, failed.AssertProblem(HttpStatusCode.ServiceUnavailable));
        Assert.True(failed.Response.Headers.Contains("Retry-After"));
        AssertNoInternals(failed);
        Assert.Equal(HttpStatusCode.OK, afterwards.Status);
    }

    [Fact]
    public async Task A_decision_whose_session_storage_fails_is_a_Deny_not_a_503_for_every_caller_and_API()
    {
        var agentId = await Scenario().NewAgentAsync();
        // Sessions never activated: deciding in one makes its grain read its state, which fails.
        string NewSession() => "stgfail" + Guid.NewGuid().ToString("N")[..12];
        var sessions = new[] { NewSession(), NewSession(), NewSession(), NewSession() };
        grainStorage.FailWhen(m => sessions.Any(s => m.Request.Uri.ToString().Contains(s, StringComparison.Ordinal)) ? Failure("server-busy") : null);
        const string Body = """{"action": "read_file", "resource": {"type": "Document", "id": "doc-1", "properties": {"fleet": "research"}}}""";
        string AuthZen(string session) => $$$"""
            {"subject": {"type": "agent", "id": "{{{agentId}}}"}, "action": {"name": "read_file"},
             "resource": {"type": "Document", "id": "doc-1", "properties": {"fleet": "research"}}, "context": {"session_id": "{{{session}}}"}}
            """;

        // An admin's decision goes straight to the session; an agent's first asks the session whose agent it is.
        var native = new[]
        {
            await host.Http.PostJsonAsync($"/v1/sessions/{sessions[0]}/decisions", Body),
            await host.AsAgent(agentId).PostJsonAsync($"/v1/sessions/{sessions[1]}/decisions", Body),
        };
        var authZen = new[]
        {
            await host.Http.PostJsonAsync("/access/v1/evaluation", AuthZen(sessions[2])),
            await host.AsAgent(agentId).PostJsonAsync("/access/v1/evaluation", AuthZen(sessions[3])),
        };
        var failures = grainStorage.Failed;
        grainStorage.Clear();

        Assert.True(failures >= 4, $"the fault was injected {failures} times");
        Assert.All(native, reply =>
        {
            Assert.Equal(HttpStatusCode.OK, reply.Status);
            Assert.Equal("Deny", reply.Json["outcome"]!.GetValue<string>());
            Assert.Equal(DenyReasons.InternalError, reply.Json["denyReason"]!.GetValue<string>());
        });
        Assert.All(authZen, reply =>
        {
            Assert.Equal(HttpStatusCode.OK, reply.Status);
            Assert.False(reply.Json["decision"]!.GetValue<bool>());
            Assert.Equal(DenyReasons.InternalError, reply.Json["context"]!["deny_reason"]!.GetValue<string>());
        });
    }

    [Fact]
    public async Task An_outcome_whose_record_storage_refuses_is_a_503_with_Retry_After_and_is_accepted_once_when_reported_again()
    {
        var scenario = Scenario();
        var session = await scenario.OpenSessionAsync(await scenario.NewAgentAsync());
        var decision = await scenario.ReadOwnDocumentAsync(session);
        Assert.True(decision.Outcome == RuntimeAuthz.Contracts.DecisionOutcome.Allow, decision.DenyReason);
        var report = $$$"""{"decisionId": "{{{decision.DecisionId}}}", "kind": "response", "output": {"pages": 3}}""";

        evidence.FailWhen(_ => Failure("server-busy"));
        var failed = await host.Http.PostJsonAsync($"/v1/sessions/{session}/outcomes", report);
        var failures = evidence.Failed;
        evidence.Clear();

        Assert.True(failures > 0, "the fault was never injected");
        Assert.Contains("report again shortly", failed.AssertProblem(HttpStatusCode.ServiceUnavailable), StringComparison.Ordinal);
        Assert.True(failed.Response.Headers.Contains("Retry-After"));
        AssertNoInternals(failed);
        // Sent again as a client told "503, Retry-After" would: accepted once the session has confirmed its chain.
        HttpReply accepted;
        var attempts = 0;
        do
        {
            if (attempts++ > 0) await Task.Delay(200);
            accepted = await host.Http.PostJsonAsync($"/v1/sessions/{session}/outcomes", report);
        } while (accepted.Status == HttpStatusCode.ServiceUnavailable && attempts < 50);
        Assert.Equal(HttpStatusCode.Accepted, accepted.Status);
        var again = await host.Http.PostJsonAsync($"/v1/sessions/{session}/outcomes", report);
        Assert.Contains("already reported", again.AssertProblem(HttpStatusCode.Conflict), StringComparison.Ordinal);
        Assert.Equal(ProblemTypes.OutcomeAlreadyReported, again.Json["type"]?.GetValue<string>());
        var timeline = await host.Http.GetJsonAsync($"/v1/sessions/{session}");
        Assert.Single(timeline.Json["events"]!.AsArray(), e => e!["kind"]!.GetValue<string>() == "response");
    }

    private Scenario Scenario() => new(host.App.Services.GetRequiredService<IGrainFactory>(), () => DateTimeOffset.UtcNow);

    private static void AssertNoInternals(HttpReply reply)
    {
        var text = reply.Body!.ToJsonString();
        Assert.DoesNotContain("secret-detail", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", text, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", text, StringComparison.Ordinal);
        Assert.Null(reply.Json["errors"]);
    }

    /// <summary>Fails the requests a test chooses, before they are sent (the answer Azure.Core would have turned into the exception).</summary>
    private sealed class StorageFaults : HttpPipelinePolicy
    {
        private volatile Func<HttpMessage, Exception?>? fault;
        private int failed;

        public int Failed => Volatile.Read(ref failed);

        public void FailWhen(Func<HttpMessage, Exception?> choose) => fault = choose;

        public void Clear() => fault = null;

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Check(message);
            ProcessNext(message, pipeline);
        }

        public override ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Check(message);
            return ProcessNextAsync(message, pipeline);
        }

        private void Check(HttpMessage message)
        {
            if (fault?.Invoke(message) is not { } failure) return;
            Interlocked.Increment(ref failed);
            throw failure;
        }
    }
}
