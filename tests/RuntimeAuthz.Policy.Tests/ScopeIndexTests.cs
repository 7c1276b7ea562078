using System.Text;

namespace RuntimeAuthz.Policy.Tests;

public class ScopeIndexTests
{
    private static readonly string[] Users = ["u0", "u1", "u2", "u3", "u4"];
    private static readonly string[] Groups = ["g0", "g1", "g2"];
    private static readonly string[] Actions = ["read", "write", "delete", "list"];
    private static readonly string[] Docs = ["d0", "d1", "d2", "d3"];

    private static EntityStore BuildStore()
    {
        var json = new StringBuilder("[");
        for (var i = 0; i < Users.Length; i++)
            json.Append("{\"uid\":{\"type\":\"User\",\"id\":\"" + Users[i] + "\"},\"attrs\":{\"level\":" + i + "},\"parents\":[{\"type\":\"Group\",\"id\":\"" + Groups[i % Groups.Length] + "\"}]},");
        json.Append("""{"uid":{"type":"Group","id":"g0"},"attrs":{},"parents":[{"type":"Group","id":"g2"}]},""");
        for (var i = 0; i < Docs.Length; i++)
            json.Append("{\"uid\":{\"type\":\"Doc\",\"id\":\"" + Docs[i] + "\"},\"attrs\":{\"owner\":{\"__entity\":{\"type\":\"User\",\"id\":\"" + Users[i] + "\"}}},\"parents\":[{\"type\":\"Folder\",\"id\":\"f" + (i % 2) + "\"}]},");
        json.Append("""{"uid":{"type":"Action","id":"read"},"attrs":{},"parents":[{"type":"Action","id":"all"}]},""");
        json.Append("""{"uid":{"type":"Action","id":"write"},"attrs":{},"parents":[{"type":"Action","id":"all"}]}]""");
        return EntityStore.FromJson(json.ToString());
    }

    private static string RandomScope(Random random, string variable, string type, string[] ids, string groupType, string[] groups)
    {
        return random.Next(6) switch
        {
            0 => variable,
            1 => $"{variable} == {type}::\"{ids[random.Next(ids.Length)]}\"",
            2 => $"{variable} in {groupType}::\"{groups[random.Next(groups.Length)]}\"",
            3 => $"{variable} is {type}",
            4 => $"{variable} is {type} in {groupType}::\"{groups[random.Next(groups.Length)]}\"",
            _ => $"{variable} is Other",
        };
    }

    private static PolicySet RandomPolicies(Random random, int count)
    {
        var text = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            var effect = random.Next(5) == 0 ? "forbid" : "permit";
            var principal = RandomScope(random, "principal", "User", Users, "Group", Groups);
            var action = random.Next(4) switch
            {
                0 => "action",
                1 => $"action == Action::\"{Actions[random.Next(Actions.Length)]}\"",
                2 => "action in Action::\"all\"",
                _ => $"action in [Action::\"{Actions[random.Next(Actions.Length)]}\", Action::\"{Actions[random.Next(Actions.Length)]}\"]",
            };
            var resource = RandomScope(random, "resource", "Doc", Docs, "Folder", ["f0", "f1"]);
            var condition = random.Next(4) switch
            {
                0 => "",
                1 => " when { resource.owner == principal }",
                2 => $" when {{ principal.level > {random.Next(5)} }}",
                _ => " when { principal.missing }",  // errors whenever it is evaluated
            };
            text.AppendLine($"{effect}({principal}, {action}, {resource}){condition};");
        }
        return PolicySet.Parse(text.ToString());
    }

    [Fact]
    public void IndexedDecisionsEqualAFullScan()
    {
        var random = new Random(1234);
        var store = BuildStore();
        foreach (var size in new[] { 10, 40, 200, 1000 })
        {
            var policies = RandomPolicies(random, size);
            foreach (var principal in Users.Append("ghost"))
            foreach (var action in Actions)
            foreach (var resource in Docs.Append("missing"))
            {
                var request = new AuthorizationRequest(new("User", principal), new("Action", action), new("Doc", resource), CedarContext.Empty);
                var indexed = Authorizer.IsAuthorized(request, policies, store);
                var scanned = Authorizer.IsAuthorizedByFullScan(request, policies, store);
                Assert.Equal(scanned.Decision, indexed.Decision);
                Assert.Equal(scanned.Reasons, indexed.Reasons);
                Assert.Equal(scanned.Errors.Select(e => e.PolicyId), indexed.Errors.Select(e => e.PolicyId));
            }
        }
    }

    [Fact]
    public void SelectiveScopesStillDecideLikeAFullScan()
    {
        // Mostly specific scopes over a large id space, so the index intersects short position lists.
        var random = new Random(4321);
        var store = BuildStore();
        var text = new StringBuilder();
        for (var i = 0; i < 3000; i++)
        {
            var principal = random.Next(1000) switch
            {
                0 => "principal",
                < 600 => $"principal == User::\"u{random.Next(300)}\"",
                < 900 => $"principal in Group::\"g{random.Next(60)}\"",
                _ => $"principal is User in Group::\"g{random.Next(60)}\"",
            };
            var action = random.Next(100) switch
            {
                0 => "action",
                < 80 => $"action == Action::\"{Actions[random.Next(Actions.Length)]}\"",
                _ => $"action in [Action::\"{Actions[random.Next(Actions.Length)]}\", Action::\"all\"]",
            };
            var resource = random.Next(1000) switch
            {
                0 => "resource",
                < 700 => $"resource == Doc::\"d{random.Next(300)}\"",
                _ => $"resource in Folder::\"f{random.Next(40)}\"",
            };
            var effect = random.Next(6) == 0 ? "forbid" : "permit";
            var condition = random.Next(3) == 0 ? " when { principal.level > 1 }" : "";
            text.AppendLine($"{effect}({principal}, {action}, {resource}){condition};");
        }
        var policies = PolicySet.Parse(text.ToString());
        var allowed = 0;
        foreach (var principal in Users.Append("u200"))
        foreach (var action in Actions)
        foreach (var resource in Docs.Append("d100"))
        {
            var request = new AuthorizationRequest(new("User", principal), new("Action", action), new("Doc", resource), CedarContext.Empty);
            Assert.True(Authorizer.CandidateCount(request, policies, store) < 30);
            var indexed = Authorizer.IsAuthorized(request, policies, store);
            var scanned = Authorizer.IsAuthorizedByFullScan(request, policies, store);
            Assert.Equal(scanned.Decision, indexed.Decision);
            Assert.Equal(scanned.Reasons, indexed.Reasons);
            Assert.Equal(scanned.Errors.Select(e => e.PolicyId), indexed.Errors.Select(e => e.PolicyId));
            if (indexed.Decision == Decision.Allow) allowed++;
        }
        Assert.InRange(allowed, 1, 119);
    }

    [Fact]
    public void ConcurrentDecisionsEqualSequentialOnes()
    {
        var store = BuildStore();
        var sets = new[] { RandomPolicies(new Random(7), 20), RandomPolicies(new Random(8), 500) };
        var requests = (from principal in Users
                        from action in Actions
                        from resource in Docs
                        select new AuthorizationRequest(new("User", principal), new("Action", action), new("Doc", resource), CedarContext.Empty)).ToArray();
        var expected = sets.Select(set => requests.Select(r => Authorizer.IsAuthorized(r, set, store)).ToArray()).ToArray();
        Parallel.For(0, 4000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var setIndex = i % sets.Length;
            var requestIndex = i / sets.Length % requests.Length;
            var actual = Authorizer.IsAuthorized(requests[requestIndex], sets[setIndex], store);
            var want = expected[setIndex][requestIndex];
            Assert.Equal(want.Decision, actual.Decision);
            Assert.Equal(want.Reasons, actual.Reasons);
            Assert.Equal(want.Errors.Select(e => e.PolicyId), actual.Errors.Select(e => e.PolicyId));
        });
    }

    [Fact]
    public void LinkedTemplatesAreIndexedLikeStaticPolicies()
    {
        var store = BuildStore();
        var policies = PolicySet.Parse("""
            permit(principal == ?principal, action in Action::"all", resource in ?resource) when { resource.owner == principal };
            forbid(principal is User in ?principal, action == Action::"delete", resource);
            """);
        var random = new Random(99);
        policies = policies.LinkMany(Enumerable.Range(0, 120).Select(i => i % 3 == 0
            ? new TemplateLink("policy1", $"deny-{i}", new EntityUid("Group", Groups[random.Next(Groups.Length)]), null)
            : new TemplateLink("policy0", $"owner-{i}", new EntityUid("User", Users[random.Next(Users.Length)]), new EntityUid("Folder", $"f{random.Next(3)}"))));
        Assert.Equal(122, policies.Policies.Count);
        var allowedSomewhere = false;
        foreach (var principal in Users)
        foreach (var action in Actions)
        foreach (var resource in Docs)
        {
            var request = new AuthorizationRequest(new("User", principal), new("Action", action), new("Doc", resource), CedarContext.Empty);
            var indexed = Authorizer.IsAuthorized(request, policies, store);
            var scanned = Authorizer.IsAuthorizedByFullScan(request, policies, store);
            Assert.Equal(scanned.Decision, indexed.Decision);
            Assert.Equal(scanned.Reasons, indexed.Reasons);
            Assert.DoesNotContain("policy0", indexed.Reasons);   // templates themselves never apply
            allowedSomewhere |= indexed.Decision == Decision.Allow;
        }
        Assert.True(allowedSomewhere);
    }

    [Fact]
    public void PoliciesThatCannotApplyAreNotEvaluated()
    {
        var text = new StringBuilder();
        for (var i = 0; i < 2000; i++)
            text.AppendLine($"permit(principal == User::\"user{i}\", action == Action::\"read\", resource) when {{ 1 + \"boom\" == 2 }};");
        text.AppendLine("permit(principal in Group::\"g1\", action, resource is Doc);");
        var policies = PolicySet.Parse(text.ToString());
        var store = BuildStore();
        var request = new AuthorizationRequest(new("User", "u1"), new("Action", "read"), new("Doc", "d1"), CedarContext.Empty);

        Assert.Equal(1, Authorizer.CandidateCount(request, policies, store));
        var response = Authorizer.IsAuthorized(request, policies, store);
        Assert.Equal(Decision.Allow, response.Decision);
        Assert.Equal(["policy2000"], response.Reasons);
        Assert.Empty(response.Errors);

        // The one policy for this principal is a candidate, and its error is reported.
        var targeted = new AuthorizationRequest(new("User", "user7"), new("Action", "read"), new("Doc", "d1"), CedarContext.Empty);
        Assert.Equal(1, Authorizer.CandidateCount(targeted, policies, store));
        Assert.Equal(["policy7"], Authorizer.IsAuthorized(targeted, policies, store).Errors.Select(e => e.PolicyId));
    }
}
