using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Grains.Telemetry;
using RuntimeAuthz.Silo.Security;
using RuntimeAuthz.Silo.Telemetry;

namespace RuntimeAuthz.Cluster.Tests.Telemetry;

/// <summary>
/// The real silo host with OpenTelemetry's in-memory exporters added: the instruments of <see cref="AuthzMetrics"/> after real
/// decisions, approvals and revocations; one trace from the HTTP request through the grain call to storage; no tool input or token
/// in any attribute; the Prometheus scrape and who may read it.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class TelemetryTests(ClusterEnvironment env)
{
    private const string Agent = "demo-agent";
    /// <summary>A tool input value no attribute may carry.</summary>
    private const string SecretMemo = "memo-7f3a9c1e-not-for-telemetry";
    private const string PaymentInput = $$"""{"amount":250,"currency":"EUR","memo":"{{SecretMemo}}"}""";

    private sealed record TracedHost(RunningHost Host, List<Activity> Spans, List<MetricSnapshot> Metrics)
    {
        public IReadOnlyList<MetricSnapshot> Flush()
        {
            // The Prometheus reader (pull) reports false for a flush; the in-memory reader collects all the same.
            Host.App.Services.GetRequiredService<MeterProvider>().ForceFlush(10_000);
            lock (Metrics) return Metrics.ToArray();
        }

        public Activity[] SpansNow()
        {
            Assert.True(Host.App.Services.GetRequiredService<TracerProvider>().ForceFlush(10_000));
            lock (Spans) return Spans.ToArray();
        }
    }

    private async Task<TracedHost> StartTracedHostAsync()
    {
        var spans = new List<Activity>();
        var metrics = new List<MetricSnapshot>();
        var id = "otel-" + Guid.NewGuid().ToString("N")[..10];
        var host = await env.StartHostAsync(
            env.HostArgs(id, "Production", "--Seed:Example=true", $"--Seed:Directory={RepoPaths.Examples}", "--Telemetry:Tracing=true"),
            builder =>
            {
                builder.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(spans));
                builder.Services.ConfigureOpenTelemetryMeterProvider(m => m.AddInMemoryExporter(metrics));
            });
        await Eventually.UntilAsync("the example seeded", () => host.Http.GetJsonAsync("/v1/policies/current"), r => r.Status == HttpStatusCode.OK);
        return new TracedHost(host, spans, metrics);
    }

    private static async Task<string> OpenSessionAsync(HttpClient http)
    {
        var reply = await http.PostJsonAsync("/v1/sessions", $$"""{"agentId":"{{Agent}}"}""");
        Assert.Equal(HttpStatusCode.Created, reply.Status);
        return reply.Json["id"]!.GetValue<string>();
    }

    private static async Task<HttpReply> DecideAsync(HttpClient http, string session, string action, string resource, string properties = "{}", string input = "{}")
    {
        var reply = await http.PostJsonAsync($"/v1/sessions/{session}/decisions",
            $$"""{"action":"{{action}}","resource":{"type":"{{resource.Split(':')[0]}}","id":"{{resource.Split(':')[1]}}","properties":{{properties}}},"input":{{input}}}""");
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        return reply;
    }

    /// <summary>The latest exported points of <paramref name="name"/> (snapshots are cumulative; the last flush has them all).</summary>
    private static IReadOnlyList<MetricPoint> Points(IReadOnlyList<MetricSnapshot> flushed, string name)
    {
        var latest = flushed.LastOrDefault(m => m.Name == name);
        Assert.True(latest is not null, $"instrument {name} was exported");
        Assert.Equal(AuthzMetrics.Name, latest!.MeterName);
        return latest.MetricPoints;
    }

    private static string? Tag(MetricPoint point, string key)
    {
        foreach (var tag in point.Tags) if (tag.Key == key) return tag.Value?.ToString();
        return null;
    }

    private static long Sum(IReadOnlyList<MetricPoint> points, Func<MetricPoint, bool> where) =>
        points.Where(where).Sum(p => p.GetSumLong());

    private static long HistogramCount(IReadOnlyList<MetricPoint> points, Func<MetricPoint, bool> where) =>
        points.Where(where).Sum(p => p.GetHistogramCount());

    [Fact]
    public async Task Every_instrument_reports_what_the_silo_did()
    {
        var traced = await StartTracedHostAsync();
        var http = traced.Host.Http;
        var session = await OpenSessionAsync(http);
        var allowed = await DecideAsync(http, session, "read_file", "Document:q3-report", """{"fleet":"research"}""");
        Assert.Equal("Allow", allowed.Json["outcome"]!.GetValue<string>());
        var denied = await DecideAsync(http, session, "read_file", "Document:elsewhere", """{"fleet":"elsewhere"}""");
        Assert.Equal("Deny", denied.Json["outcome"]!.GetValue<string>());
        var denyReason = denied.Json["denyReason"]!.GetValue<string>();
        var held = await DecideAsync(http, session, "send_payment", "Account:acme", input: PaymentInput);
        Assert.Equal("ApprovalRequired", held.Json["outcome"]!.GetValue<string>());

        // A shadow version that forbids reading: the next read is compared against it and disagrees (then it is discarded again).
        var shadowPolicies = (await File.ReadAllTextAsync(Path.Combine(RepoPaths.Examples, "policies.cedar")))
            + "\n@id(\"telemetry-shadow-no-reads\")\nforbid (principal, action == Action::\"read_file\", resource);\n";
        var shadow = await http.PostJsonAsync("/v1/policies", new System.Text.Json.Nodes.JsonObject
        {
            ["policies"] = shadowPolicies, ["schema"] = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Examples, "schema.cedarschema")), ["mode"] = "shadow",
        }.ToJsonString());
        Assert.Equal(HttpStatusCode.Created, shadow.Status);
        var shadowVersion = shadow.Json["version"]!.GetValue<long>();
        var comparedSession = await OpenSessionAsync(http);
        await Eventually.UntilAsync("the shadow compared a read", async () =>
        {
            Assert.Equal("Allow", (await DecideAsync(http, comparedSession, "read_file", "Document:q3-report", """{"fleet":"research"}""")).Json["outcome"]!.GetValue<string>());
            return traced.Flush();
        }, flushed => flushed.LastOrDefault(m => m.Name == AuthzMetrics.ShadowComparisons) is { } compared
            && Sum(compared.MetricPoints, p => Tag(p, "version") == shadowVersion.ToString() && Tag(p, "result") == "disagree") >= 1);
        Assert.Equal(HttpStatusCode.OK, (await http.PostJsonAsync($"/v1/policies/{shadowVersion}/discard", "{}")).Status);

        // A grant made and revoked, so one revocation.
        var grant = await http.PostJsonAsync($"/v1/agents/{Agent}/grants", """{"actions":["read_file"],"resources":["Document::*"],"expiresAt":"2099-01-01T00:00:00Z"}""");
        Assert.Equal(HttpStatusCode.Created, grant.Status);
        var revoked = await http.PostJsonAsync($"/v1/agents/{Agent}/grants/{grant.Json["id"]!.GetValue<string>()}/revoke", """{"reason":"telemetry test"}""");
        Assert.Equal(HttpStatusCode.OK, revoked.Status);

        var flushed = traced.Flush();
        var decisions = Points(flushed, AuthzMetrics.Decisions);
        Assert.True(Sum(decisions, p => Tag(p, "outcome") == "Allow" && Tag(p, "deny_reason") is null) >= 1);
        Assert.True(Sum(decisions, p => Tag(p, "outcome") == "Deny" && Tag(p, "deny_reason") == denyReason) >= 1);
        Assert.True(Sum(decisions, p => Tag(p, "outcome") == "ApprovalRequired") >= 1);
        Assert.True(HistogramCount(Points(flushed, AuthzMetrics.DecisionDuration), p => Tag(p, "outcome") is "Allow" or "Deny" or "ApprovalRequired") >= 3);
        Assert.True(HistogramCount(Points(flushed, AuthzMetrics.EvidenceAppendDuration), p => Tag(p, "chain_kind") == "session" && Tag(p, "status") == "durable") >= 3);
        // The revocation is a governance record.
        Assert.True(HistogramCount(Points(flushed, AuthzMetrics.EvidenceAppendDuration), p => Tag(p, "chain_kind") == "governance") >= 1);
        var batches = Points(flushed, AuthzMetrics.EvidenceBatchSize);
        Assert.True(HistogramCount(batches, _ => true) >= 1);
        Assert.True(batches.Sum(p => p.GetHistogramSum()) >= HistogramCount(batches, _ => true), "every storage request carries at least one record");
        Assert.True(Sum(Points(flushed, AuthzMetrics.Revocations), p => Tag(p, "scope") == "grant") >= 1);
        Assert.True(Sum(Points(flushed, AuthzMetrics.SessionsActive), _ => true) >= 1, "the open session is counted");
        Assert.True(Points(flushed, AuthzMetrics.ApprovalsPending).Sum(p => p.GetGaugeLastValueLong()) >= 1, "the held payment is pending");
        Assert.Contains(Points(flushed, AuthzMetrics.ApprovalsOldestPendingAge), p => p.GetGaugeLastValueDouble() >= 0);
        var silo = traced.Host.App.Services.GetRequiredService<Orleans.Runtime.ILocalSiloDetails>().SiloAddress.ToString();
        var policyVersion = Points(flushed, AuthzMetrics.PolicyVersion).Single(p => Tag(p, "silo") == silo);
        Assert.True(policyVersion.GetGaugeLastValueLong() >= 1);
        var entityVersion = Points(flushed, AuthzMetrics.EntityStoreVersion).Single(p => Tag(p, "silo") == silo);
        Assert.Equal(traced.Host.App.Services.GetRequiredService<RuntimeAuthz.Grains.Entities.EntityCache>().Version, entityVersion.GetGaugeLastValueLong());
        // Orleans' own meter is exported beside ours.
        Assert.Contains(flushed, m => m.MeterName == SiloTelemetry.OrleansMeter);
        Assert.Equal(AuthzMetrics.InstrumentNames.Order(), flushed.Where(m => m.MeterName == AuthzMetrics.Name).Select(m => m.Name).Distinct().Order());

        // Closing the session takes it out of the active count (of this host's flushes: nothing else closes it).
        var before = Sum(Points(flushed, AuthzMetrics.SessionsActive), _ => true);
        Assert.Equal(HttpStatusCode.OK, (await http.PostJsonAsync($"/v1/sessions/{session}/close", "{}")).Status);
        Assert.True(Sum(Points(traced.Flush(), AuthzMetrics.SessionsActive), _ => true) <= before);
    }

    [Fact]
    public async Task One_trace_runs_from_the_HTTP_request_through_the_grain_to_storage()
    {
        var traced = await StartTracedHostAsync();
        var http = traced.Host.Http;
        var session = await OpenSessionAsync(http);
        await DecideAsync(http, session, "send_payment", "Account:acme", input: PaymentInput);

        // A server span ends after its response is sent: wait until both requests' spans are exported.
        var spans = await Eventually.UntilAsync("both requests' server spans exported", () => traced.SpansNow(),
            now => now.Count(s => s.Kind == ActivityKind.Server && s.Source.Name == "Microsoft.AspNetCore") >= 2);
        var request = spans.Single(s => s.Kind == ActivityKind.Server && s.Source.Name == "Microsoft.AspNetCore"
            && (string?)s.GetTagItem("http.route") == "/v1/sessions/{id}/decisions");
        var trace = spans.Where(s => s.TraceId == request.TraceId).ToArray();
        var byId = trace.ToDictionary(s => s.SpanId);
        bool Under(Activity span, Activity ancestor)
        {
            for (var current = span; current is not null; current = byId.GetValueOrDefault(current.ParentSpanId))
                if (current.SpanId == ancestor.SpanId) return true;
            return false;
        }

        var grainCall = trace.Single(s => s.Source.Name == Orleans.Diagnostics.ActivitySources.ApplicationGrainActivitySourceName
            && s.Kind == ActivityKind.Server && s.DisplayName.EndsWith("IAgentSessionGrain/Decide", StringComparison.Ordinal));
        Assert.True(Under(grainCall, request), "the grain call is part of the HTTP request's trace");
        Assert.Equal("ApprovalRequired", grainCall.GetTagItem("authz.outcome"));
        var append = trace.Single(s => s.Source.Name == AuthzMetrics.Name && s.DisplayName == "evidence append");
        Assert.True(Under(append, grainCall), "the evidence append runs inside the grain call");
        Assert.Equal("durable", append.GetTagItem("authz.evidence.status"));
        // The storage request itself: the Azure SDK's span under the append (the evidence store's client traces on request).
        Assert.True(trace.Any(s => s.Source.Name.StartsWith("Azure.Data.Tables", StringComparison.Ordinal) && Under(s, append)),
            "an Azure SDK span under the append; the trace: " + string.Join("; ", trace.Select(s => $"{s.Source.Name} {s.DisplayName} {s.SpanId} <- {s.ParentSpanId}"))
            + " | all Azure spans: " + string.Join("; ", spans.Where(s => s.Source.Name.StartsWith("Azure", StringComparison.Ordinal)).Select(s => $"{s.Source.Name} {s.DisplayName} {s.TraceId}")));

        // Opening the session wrote its grain state: the grain-state client's request is in the open's trace, under the grain call.
        var open = spans.Single(s => s.Kind == ActivityKind.Server && s.Source.Name == "Microsoft.AspNetCore"
            && (string?)s.GetTagItem("http.route") is "/v1/sessions" or "/v1/sessions/" && s.DisplayName.StartsWith("POST", StringComparison.Ordinal));
        var opened = spans.Where(s => s.TraceId == open.TraceId).ToArray();
        var openCall = opened.Single(s => s.Source.Name == Orleans.Diagnostics.ActivitySources.ApplicationGrainActivitySourceName
            && s.Kind == ActivityKind.Server && s.DisplayName.EndsWith("IAgentSessionGrain/Open", StringComparison.Ordinal));
        byId = opened.ToDictionary(s => s.SpanId);
        Assert.True(opened.Any(s => s.Source.Name.StartsWith("Azure.Data.Tables", StringComparison.Ordinal) && Under(s, openCall)),
            "the grain state write in the open's trace: " + string.Join("; ", opened.Select(s => $"{s.Source.Name} {s.DisplayName}")));

        // Nothing sensitive: neither the tool input nor the caller's token appears in any span's name or attributes.
        var token = traced.Host.Http.DefaultRequestHeaders.Authorization!.Parameter!;
        foreach (var span in spans)
        {
            foreach (var (key, value) in span.TagObjects)
            {
                var text = value?.ToString() ?? "";
                Assert.False(text.Contains(SecretMemo, StringComparison.Ordinal), $"span {span.DisplayName} attribute {key} carries the tool input");
                Assert.False(text.Contains(token, StringComparison.Ordinal), $"span {span.DisplayName} attribute {key} carries the token");
            }
            Assert.DoesNotContain(SecretMemo, span.DisplayName, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("Telemetry:Tracing", "--Telemetry:Tracing=maybe")]
    [InlineData("Telemetry:Prometheus", "--Telemetry:Prometheus=often")]
    [InlineData("Telemetry:PrometheusAnonymous", "--Telemetry:PrometheusAnonymous=2")]
    [InlineData("Dashboard:Enabled", "--Dashboard:Enabled=sure")]
    [InlineData(SiloTelemetry.OtlpEndpointKey, "--OTEL_EXPORTER_OTLP_ENDPOINT=collector:4317")]
    [InlineData(SiloTelemetry.OtlpEndpointKey, "--OTEL_EXPORTER_OTLP_ENDPOINT=ftp://collector:4317")]
    public async Task A_bad_telemetry_setting_stops_start_up_naming_it(string key, string setting)
    {
        var failure = await HostConfigurationTests.StartFailureAsync(
            env.HostArgs("otel-bad-" + Guid.NewGuid().ToString("N")[..8], "Production", TestTokens.AuthorityArgument, setting));
        Assert.Contains(key, failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_scrape_is_anonymous_only_when_configured_so()
    {
        var host = await env.StartHostAsync(env.HostArgs("otel-anon-" + Guid.NewGuid().ToString("N")[..8], "Production", "--Telemetry:PrometheusAnonymous=true"));
        using var scrape = await host.ClientWith(null).GetAsync(SiloTelemetry.ScrapePath);
        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        var off = await env.StartHostAsync(env.HostArgs("otel-off-" + Guid.NewGuid().ToString("N")[..8], "Production", "--Telemetry:Prometheus=false"));
        Assert.Equal(HttpStatusCode.NotFound, (await off.Http.GetAsync(SiloTelemetry.ScrapePath)).StatusCode);
    }

    [Fact]
    public async Task The_Prometheus_scrape_needs_metrics_read()
    {
        var traced = await StartTracedHostAsync();
        var host = traced.Host;
        var session = await OpenSessionAsync(host.Http);
        await DecideAsync(host.Http, session, "read_file", "Document:q3-report", """{"fleet":"research"}""");

        foreach (var role in Permissions.MetricsRead.Roles)
        {
            using var scrape = await host.As(role).GetAsync(SiloTelemetry.ScrapePath);
            Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
            var text = await scrape.Content.ReadAsStringAsync();
            Assert.Contains("authz_decisions_total{", text, StringComparison.Ordinal);
            Assert.Contains("authz_policy_version", text, StringComparison.Ordinal);
            Assert.DoesNotContain(session, text, StringComparison.Ordinal);
        }
        Assert.Equal(HttpStatusCode.Forbidden, (await host.AsAgent(Agent).GetJsonAsync(SiloTelemetry.ScrapePath)).Status);
        foreach (var role in Roles.All.Except(Permissions.MetricsRead.Roles).Where(r => !Roles.IsAgentBound(r)))
            Assert.Equal(HttpStatusCode.Forbidden, (await host.As(role).GetJsonAsync(SiloTelemetry.ScrapePath)).Status);
        (await host.ClientWith(null).GetJsonAsync(SiloTelemetry.ScrapePath)).AssertProblem(HttpStatusCode.Unauthorized);
    }
}
