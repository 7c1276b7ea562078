using System.Text.Json;
using RuntimeAuthz.Policy.Temporal;

namespace RuntimeAuthz.Policy.Tests.Temporal;

public sealed class TemporalSessionTests
{
    private static readonly EntityUid Agent = new("AgentCore::OAuthUser", "agent-1");
    private static readonly EntityUid Gateway = new("AgentCore::Gateway", "gw");
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static AuthorizationRequest Request(string tool, string inputJson) =>
        new(Agent, new EntityUid("AgentCore::Action", tool), Gateway, CedarContext.FromJson($"{{\"input\": {inputJson}}}"));

    private const string RateLimit = """
        permit ( principal, action, resource );
        forbid ( principal, action == AgentCore::Action::"Tools___search", resource )
        when temporal {
            exists (n: Long). (
                (count for (t: Timepoint). where formerly within 1m (
                    AgentCore::Action::"Tools___search"::request{ eventPrincipal: principal } && tp(t)
                )) == n && n > 30
            )
        };
        """;

    [Fact]
    public void State_stays_bounded_by_the_window_however_long_the_session()
    {
        var set = TemporalPolicySet.Parse(RateLimit);
        var session = new TemporalSession(set);
        var search = Request("Tools___search", "{\"query\": \"q\"}");
        var denied = 0;
        for (var i = 0; i < 20_000; i++)
        {
            // One search every 1.5 s: 41 in any minute, so the limit of 30 bites in every window.
            var response = session.Decide(search, EntityStore.Empty, Start.AddMilliseconds(i * 1500L), $"r{i}", "s1");
            if (response.Decision == Decision.Deny) denied++;
        }
        Assert.Equal(20_000, session.NextIndex);
        Assert.InRange(session.RetainedEvents, 40, 42);
        var json = JsonSerializer.Serialize(session.ExportState());
        Assert.InRange(json.Length, 1, 16_000);
        // The first 30 pass; from then on every minute holds 41 searches (denied ones count too).
        Assert.Equal(20_000 - 30, denied);
    }

    [Fact]
    public void Outcomes_feed_history_and_a_restored_session_decides_the_same()
    {
        var set = TemporalPolicySet.Parse("""
            permit ( principal, action == AgentCore::Action::"Pay___approve_claim", resource );
            permit ( principal, action == AgentCore::Action::"Pay___disburse", resource )
            when temporal {
                !AgentCore::Action::"Pay___disburse"::response{ input.claimId: context.input.claimId }
                since within 1h
                AgentCore::Action::"Pay___approve_claim"::response{ output.claimId: context.input.claimId }
            };
            """);
        var session = new TemporalSession(set);
        var approve = Request("Pay___approve_claim", "{\"claimId\": \"C1\"}");
        var disburse = Request("Pay___disburse", "{\"claimId\": \"C1\"}");
        Assert.Equal(Decision.Deny, session.Decide(disburse, EntityStore.Empty, Start, "r0", "s1").Decision);
        Assert.Equal(Decision.Allow, session.Decide(approve, EntityStore.Empty, Start.AddSeconds(1), "r1", "s1").Decision);
        session.RecordOutcome("response", approve, Start.AddSeconds(2), "r1", "s1", CedarContext.FromJson("{\"claimId\": \"C1\"}"));

        // Deactivation: the state goes through JSON and a new session continues from it.
        var restored = new TemporalSession(set, JsonSerializer.Deserialize<TemporalSessionState>(JsonSerializer.Serialize(session.ExportState())));
        Assert.Equal(session.NextIndex, restored.NextIndex);
        Assert.Equal(Decision.Allow, restored.Decide(disburse, EntityStore.Empty, Start.AddSeconds(3), "r2", "s1").Decision);
        restored.RecordOutcome("response", disburse, Start.AddSeconds(4), "r2", "s1", CedarContext.FromJson("{\"paid\": true}"));
        Assert.Equal(Decision.Deny, restored.Decide(disburse, EntityStore.Empty, Start.AddSeconds(5), "r3", "s1").Decision);
        Assert.Throws<ArgumentException>(() => restored.RecordOutcome("audit", disburse, Start, "r4", "s1"));
    }

    [Fact]
    public void A_sum_beyond_the_long_range_clamps_instead_of_failing()
    {
        var set = TemporalPolicySet.Parse("""
            permit ( principal, action, resource )
            when temporal {
                exists (total: Long). (
                    (sum a for (a: Long), (t: Timepoint). where formerly within 1h (
                        AgentCore::Action::"Bank___transfer"::request{ input.amount: a } && tp(t)
                    )) == total && total == 9223372036854775807
                )
            };
            """);
        var session = new TemporalSession(set);
        var big = Request("Bank___transfer", "{\"amount\": 9223372036854775000}");
        Assert.Equal(Decision.Deny, session.Decide(big, EntityStore.Empty, Start, "r0", "s1").Decision);
        Assert.Equal(Decision.Allow, session.Decide(big, EntityStore.Empty, Start.AddSeconds(1), "r1", "s1").Decision);
    }

    [Fact]
    public void A_clock_that_steps_back_is_held_at_the_last_time()
    {
        var set = TemporalPolicySet.Parse("""
            permit ( principal, action == AgentCore::Action::"Bank___transfer", resource )
            when temporal { formerly within 10m AgentCore::Action::"Bank___lookup"::response{ output.id: context.input.to } };
            """);
        var session = new TemporalSession(set);
        var lookup = Request("Bank___lookup", "{\"name\": \"b\"}");
        session.RecordOutcome("response", lookup, Start.AddMinutes(30), "r0", "s1", CedarContext.FromJson("{\"id\": \"A\"}"));
        var transfer = Request("Bank___transfer", "{\"to\": \"A\"}");
        Assert.Equal(Decision.Allow, session.Decide(transfer, EntityStore.Empty, Start, "r1", "s1").Decision);
    }
}
