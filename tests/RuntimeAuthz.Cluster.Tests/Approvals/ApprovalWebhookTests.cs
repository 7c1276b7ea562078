using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains.Approvals;

namespace RuntimeAuthz.Cluster.Tests.Approvals;

/// <summary>Approval events reach a real HTTP receiver, signed; a receiver that is down holds nothing up.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ApprovalWebhookTests(ClusterEnvironment env)
{
    private const string Secret = "webhook-test-secret";

    private sealed record Delivery(string Timestamp, string Signature, string Body);

    [Fact]
    public async Task Receivers_get_signed_request_and_decision_events_and_one_that_is_down_slows_nothing()
    {
        var received = new ConcurrentQueue<Delivery>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        await using var receiver = builder.Build();
        receiver.MapPost("/hook", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            received.Enqueue(new Delivery(request.Headers[ApprovalWebhooks.TimestampHeader].ToString(), request.Headers[ApprovalWebhooks.SignatureHeader].ToString(),
                await reader.ReadToEndAsync()));
            return Results.Ok();
        });
        await receiver.StartAsync();
        var address = receiver.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();

        var clock = new FakeTimeProvider(new DateTimeOffset(2030, 7, 1, 9, 0, 0, TimeSpan.Zero));
        var cluster = await env.StartClusterAsync(1, clock, silo => silo.Services.Configure<ApprovalOptions>(o => o.Webhooks =
        [
            new ApprovalWebhookTarget { Url = $"http://127.0.0.1:{FreePorts.Next()}/nobody-listens", Secret = Secret },
            new ApprovalWebhookTarget { Url = $"{address}/hook", Secret = Secret },
        ]));
        var published = await cluster.Client.GetGrain<IPolicyGrain>(0).Publish(new PolicyPublishRequest
        {
            Policies = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Examples, "policies.cedar")), Author = "tests",
        });
        await ClusterEnvironment.WaitForPolicyAsync(cluster, published.Value!.Version);
        var scenario = new Scenario(cluster.Client, clock.GetUtcNow);
        var session = await scenario.OpenSessionAsync(await scenario.NewAgentAsync());

        var held = await scenario.DecideAsync(session, "send_payment", "Account", "acme", input: """{"amount": 10}""");
        var id = held.Approval!.Id;
        var approved = await cluster.Client.GetGrain<ISessionApprovalsGrain>(session).Approve(id, new ApprovalAct { Subject = "approver@example.com" });
        Assert.True(approved.IsSuccess, approved.Message);
        var used = await scenario.Grains.GetGrain<IAgentSessionGrain>(session).Decide(new DecisionRequest
        {
            Action = "send_payment", ResourceType = "Account", ResourceId = "acme", InputJson = """{"amount": 10}""", ApprovalId = id,
        });
        Assert.Equal(DecisionOutcome.Allow, used.Outcome);

        await Eventually.UntilAsync("three webhook deliveries", () => received.Count, count => count >= 3);
        var deliveries = received.ToArray();
        Assert.Equal(["approval.requested", "approval.approved", "approval.consumed"],
            deliveries.Select(d => System.Text.Json.Nodes.JsonNode.Parse(d.Body)!["type"]!.GetValue<string>()));
        Assert.All(deliveries, d =>
        {
            Assert.Equal(ApprovalWebhooks.Sign(Secret, d.Timestamp, d.Body), d.Signature);
            Assert.NotEqual(ApprovalWebhooks.Sign("another secret", d.Timestamp, d.Body), d.Signature);
            Assert.InRange(long.Parse(d.Timestamp, System.Globalization.CultureInfo.InvariantCulture),
                DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeSeconds());
            Assert.Contains(id, d.Body);
        });
        Assert.DoesNotContain(Secret, string.Concat(deliveries.Select(d => d.Body)));
    }

    [Theory]
    [InlineData("ftp://example.com/hook", "s", "Webhooks:0:Url")]
    [InlineData("hook", "s", "Webhooks:0:Url")]
    [InlineData("https://example.com/hook", " ", "Webhooks:0:Secret")]
    public void A_bad_webhook_setting_is_refused_naming_the_key(string url, string secret, string key)
    {
        var options = new ApprovalOptions { Webhooks = [new ApprovalWebhookTarget { Url = url, Secret = secret }] };
        var result = new ApprovalOptionsValidator().Validate(null, options);
        Assert.True(result.Failed);
        Assert.Contains(key, result.FailureMessage);
    }
}
