using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using RuntimeAuthz.Policy;

namespace RuntimeAuthz.Bench.Policy;

/// <summary>
/// A realistic agent-authorization workload: agents grouped in fleets call tools (actions) on resources
/// grouped in workspaces, and policies constrain the tool input carried in the context. Each policy
/// names one agent or fleet, one or a few tools and one resource or workspace, so for a given request
/// nearly all policies are out of scope; a handful of broad guard-rail forbids always apply.
/// </summary>
internal sealed class AgentPolicyWorkload
{
    public required string PolicyText { get; init; }
    public required int PolicyCount { get; init; }
    public required IReadOnlyList<WorkloadRequest> Requests { get; init; }

    internal sealed record WorkloadRequest(EntityUid Principal, EntityUid Action, EntityUid Resource, JsonObject Context, JsonArray Entities);

    private static readonly string[] Tools =
        ["read_file", "write_file", "send_email", "search_web", "query_db", "transfer_funds", "create_ticket", "deploy_service", "delete_record", "call_api"];

    public static AgentPolicyWorkload Create(int policyCount, int requestCount = 64, int seed = 42)
    {
        var random = new Random(seed);
        // The population grows with the policy set, as it does in a real fleet.
        int agents = Math.Max(4, policyCount / 2);
        int fleets = Math.Max(2, agents / 20);
        int resources = Math.Max(4, policyCount / 2);
        int workspaces = Math.Max(2, resources / 25);
        string Agent(int i) => $"Agent::\"agent-{i}\"";
        string Fleet(int i) => $"Fleet::\"fleet-{i}\"";
        string Resource(int i) => $"Resource::\"res-{i}\"";
        string Workspace(int i) => $"Workspace::\"ws-{i}\"";
        string Tool(int i) => $"Action::\"{Tools[i]}\"";

        var text = new StringBuilder();
        // Guard rails that apply to every request of their tool.
        string[] guardRails =
        [
            "forbid (principal, action == Action::\"transfer_funds\", resource) when { context.input has amount && context.input.amount > 10000 };",
            "forbid (principal, action == Action::\"send_email\", resource) unless { context.input has recipient && context.input.recipient like \"*@example.com\" };",
            "forbid (principal, action, resource) when { context.risk >= 90 };",
        ];
        int guardCount = Math.Min(guardRails.Length, Math.Max(1, policyCount / 4));
        for (int i = 0; i < guardCount; i++) text.AppendLine(guardRails[i]);

        var scopes = new List<(int? Agent, int? Fleet, int Tool, int? Resource, int? Workspace, bool Permit)>();
        for (int p = guardCount; p < policyCount; p++)
        {
            int? agent = null, fleet = null, resource = null, workspace = null;
            if (random.Next(3) == 0) fleet = random.Next(fleets); else agent = random.Next(agents);
            if (random.Next(3) == 0) workspace = random.Next(workspaces); else resource = random.Next(resources);
            int tool = random.Next(Tools.Length);
            string principal = fleet is { } f ? $"principal in {Fleet(f)}" : $"principal == {Agent(agent!.Value)}";
            string action = random.Next(3) == 0
                ? $"action in [{Tool(tool)}, {Tool((tool + 1) % Tools.Length)}]"
                : $"action == {Tool(tool)}";
            string resourceScope = workspace is { } w ? $"resource in {Workspace(w)}" : $"resource == {Resource(resource!.Value)}";
            string condition = random.Next(4) switch
            {
                0 => $"context.input has amount && context.input.amount <= {random.Next(100, 5000)}",
                1 => "context.input has path && context.input.path like \"/data/*\"",
                2 => $"context.risk < {random.Next(20, 80)} && context.session.calls < {random.Next(10, 100)}",
                _ => "context.session.approved == true || context.input.dryRun == true",
            };
            bool permit = random.Next(10) != 0;
            scopes.Add((agent, fleet, tool, resource, workspace, permit));
            text.Append(CultureInfo.InvariantCulture, $"@id(\"rule-{p}\")\n{(permit ? "permit" : "forbid")} ({principal}, {action}, {resourceScope}) when {{ {condition} }};\n");
        }

        // Agent i belongs to fleet i % fleets; resource j lies in workspace j % workspaces.
        var requests = new List<WorkloadRequest>();
        for (int r = 0; r < requestCount; r++)
        {
            int agent = random.Next(agents), resource = random.Next(resources), tool = random.Next(Tools.Length);
            // Two requests in three are aimed at some policy's scope (the calls an agent was meant to make);
            // the rest are arbitrary, so mostly denied by default.
            if (scopes.Count > 0 && random.Next(3) != 0)
            {
                var target = scopes[random.Next(scopes.Count)];
                agent = target.Agent ?? target.Fleet!.Value + fleets * random.Next(Math.Max(1, (agents - target.Fleet!.Value + fleets - 1) / fleets));
                resource = target.Resource ?? target.Workspace!.Value + workspaces * random.Next(Math.Max(1, (resources - target.Workspace!.Value + workspaces - 1) / workspaces));
                tool = target.Tool;
            }
            var principalUid = new EntityUid("Agent", $"agent-{agent}");
            var resourceUid = new EntityUid("Resource", $"res-{resource}");
            var actionUid = new EntityUid("Action", Tools[tool]);
            var input = new JsonObject
            {
                ["amount"] = random.Next(0, 12000),
                ["path"] = random.Next(4) != 0 ? "/data/report.csv" : "/etc/passwd",
                ["recipient"] = random.Next(4) != 0 ? "ops@example.com" : "someone@else.org",
                ["dryRun"] = random.Next(4) == 0,
            };
            var context = new JsonObject
            {
                ["input"] = input,
                ["risk"] = random.Next(0, 100),
                ["session"] = new JsonObject { ["calls"] = random.Next(0, 120), ["approved"] = random.Next(3) == 0 },
            };
            // The request's slice of the entity graph: the agent and its fleet, the resource and its workspace.
            var entities = new JsonArray
            {
                Entity("Agent", $"agent-{agent}", "Fleet", $"fleet-{agent % fleets}"),
                Entity("Fleet", $"fleet-{agent % fleets}", null, null),
                Entity("Resource", $"res-{resource}", "Workspace", $"ws-{resource % workspaces}"),
                Entity("Workspace", $"ws-{resource % workspaces}", null, null),
            };
            requests.Add(new WorkloadRequest(principalUid, actionUid, resourceUid, context, entities));
        }
        return new AgentPolicyWorkload { PolicyText = text.ToString(), PolicyCount = policyCount, Requests = requests };
    }

    private static JsonObject Entity(string type, string id, string? parentType, string? parentId)
    {
        var parents = new JsonArray();
        if (parentType != null) parents.Add(new JsonObject { ["type"] = parentType, ["id"] = parentId });
        return new JsonObject
        {
            ["uid"] = new JsonObject { ["type"] = type, ["id"] = id },
            ["attrs"] = new JsonObject(),
            ["parents"] = parents,
        };
    }
}
