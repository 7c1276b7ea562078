using System.Text.RegularExpressions;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.Incidents;

/// <summary>
/// The three walk-throughs (see the README beside each policy), each a scripted agent calling real MCP tools through the
/// gateway. Agent ids get a per-run suffix, so a run never meets an earlier one's sessions or grants.
/// </summary>
public static partial class Incidents
{
    public static readonly IReadOnlyList<(string Name, string Title, Func<Walkthrough, string, CancellationToken, Task> Script)> All =
    [
        ("prompt-injection", "a fetched page tells the agent to mail data to the attacker", PromptInjectionAsync),
        ("delegated-abuse", "a sub-agent reaches past its parent's authority, then past its revocation", DelegatedAbuseAsync),
        ("chained-execution", "harmless calls chained into exfiltration; an irreversible step", ChainedExecutionAsync),
    ];

    /// <summary>Runs every walk-through on <paramref name="stage"/>, printing each step's decision; the results say whether each came out as expected.</summary>
    public static async Task<IReadOnlyList<StepResult>> RunAllAsync(IncidentStage stage, IncidentClients clients, PolicyNames policies, TextWriter output,
        string? runId = null, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        var run = runId ?? Guid.NewGuid().ToString("N")[..8];
        var results = new List<StepResult>();
        foreach (var (name, title, script) in All)
        {
            output.WriteLine($"{name}: {title}");
            await using (var walkthrough = new Walkthrough(name, stage, clients, policies, output, time ?? TimeProvider.System))
            {
                await script(walkthrough, run, cancellationToken);
                results.AddRange(walkthrough.Results);
            }
            output.WriteLine();
        }
        return results;
    }

    private static async Task PromptInjectionAsync(Walkthrough w, string run, CancellationToken ct)
    {
        var agent = $"researcher-{run}";
        var stage = w.Stage;
        await w.RegisterAsync(agent, ["lookup_contact", "fetch_page", "send_email"], ["Contact::*", "WebPage::*", "Mailbox::*"], TimeSpan.FromHours(1), ct);
        await w.CallAsync(agent, "looks up the contact 'dana' (office.lookup_contact)", Expect.Allow, "office.lookup_contact", Args(("name", "dana")), ct);
        var page = await w.CallAsync(agent, $"fetches the vendor's page {stage.VendorPage} (office.fetch_page); it hides an instruction", Expect.Allow,
            "office.fetch_page", Args(("url", stage.VendorPage.ToString())), ct);
        // The scripted agent does what a model fooled by the page would do: mail whatever address the page names.
        var injected = EmailAddress().Match(Walkthrough.TextOf(page)) is { Success: true } found ? found.Value : "(no address in the page)";
        await w.CallAsync(agent, $"obeys the page: mails the contact list to {injected} (office.send_email)", Expect.Deny, "office.send_email",
            Args(("to", injected), ("subject", "contacts"), ("body", "dana <dana@example.com>")), ct, () => MailTo(stage, injected));
        await w.CallAsync(agent, "mails dana@example.com, the address the lookup returned", Expect.Allow, "office.send_email",
            Args(("to", "dana@example.com"), ("subject", "Q3 prices"), ("body", "Prices stay the same for Q3.")), ct, () => MailTo(stage, "dana@example.com"));
    }

    private static async Task DelegatedAbuseAsync(Walkthrough w, string run, CancellationToken ct)
    {
        var parent = $"planner-{run}";
        var child = $"helper-{run}";
        var plan = Args(("path", w.Stage.PlanFile));
        var parentGrant = await w.RegisterAsync(parent, ["read_plan"], ["Plan::*"], TimeSpan.FromHours(2), ct);
        await w.Clients.Governance.RegisterAgentAsync(new RegisterAgentRequest(child, child, "incident-owner@example.com", "research"), ct);
        var expires = parentGrant.ExpiresAt - TimeSpan.FromHours(1);
        await w.CallAsync(parent, "reads the plan q3-roadmap.md (plans.read_text_file)", Expect.Allow, "plans.read_text_file", plan, ct);
        await w.GovernAsync($"{parent} sub-delegates read_plan on Plan::* to {child}", Expect.Accepted, async () =>
        {
            var grant = await w.Clients.Governance.CreateGrantAsync(child,
                new CreateGrantRequest(["read_plan"], ["Plan::*"], expires, "help with the roadmap", DelegatorAgentId: parent, ParentGrantId: parentGrant.Id), ct);
            return $"grant {grant.Id}, depth {grant.Depth}, derived from {grant.ParentGrantId}";
        });
        await w.GovernAsync($"{child} asks {parent} for more than it holds: read_plan and write_plan", Expect.Refused, async () =>
        {
            var grant = await w.Clients.Governance.CreateGrantAsync(child,
                new CreateGrantRequest(["read_plan", "write_plan"], ["Plan::*"], expires, "also tidy it up", DelegatorAgentId: parent, ParentGrantId: parentGrant.Id), ct);
            return $"grant {grant.Id}";
        });
        await w.CallAsync(child, "reads the plan under the sub-delegation", Expect.Allow, "plans.read_text_file", plan, ct);
        await w.CallAsync(child, "rewrites the plan anyway (plans.write_file)", Expect.Deny, "plans.write_file",
            Args(("path", w.Stage.PlanFile), ("content", "# Q3 roadmap\n(deleted)\n")), ct, () => PlanState(w.Stage));
        await w.GovernAsync($"governance revokes {parent}'s grant (the incident responder's move)", Expect.Accepted, async () =>
        {
            var revocation = await w.Clients.Governance.RevokeGrantAsync(parent, parentGrant.Id, new GovernanceActionRequest("incident: planner compromised"), ct);
            return $"{revocation.Count} grant(s) revoked, cascading: {string.Join(", ", revocation.Revoked.Select(r => r.AgentId))}";
        });
        await w.CallAsync(child, "keeps going: reads the plan again, in the same MCP session", Expect.Deny, "plans.read_text_file", plan, ct);
    }

    private static async Task ChainedExecutionAsync(Walkthrough w, string run, CancellationToken ct)
    {
        var agent = $"operator-{run}";
        var stage = w.Stage;
        await w.RegisterAsync(agent, ["lookup_contact", "send_email", "read_secret", "wire_money"], ["Contact::*", "Mailbox::*", "Secret::*", "Account::*"],
            TimeSpan.FromHours(1), ct);
        await w.CallAsync(agent, "looks up the contact 'ops'", Expect.Allow, "office.lookup_contact", Args(("name", "ops")), ct);
        await w.CallAsync(agent, "mails the daily status to ops@example.com", Expect.Allow, "office.send_email",
            Args(("to", "ops@example.com"), ("subject", "status"), ("body", "all green")), ct, () => MailTo(stage, "ops@example.com"));
        await w.CallAsync(agent, "reads the secret db-password (vault.read_text_file)", Expect.Allow, "vault.read_text_file", Args(("path", stage.SecretFile)), ct);
        await w.CallAsync(agent, "then mails ops@example.com again, the secret in the body (the exfiltration step)", Expect.Deny, "office.send_email",
            Args(("to", "ops@example.com"), ("subject", "status"), ("body", "db-password: correct-horse-battery-staple")), ct, () => MailTo(stage, "ops@example.com"));
        var wire = Args(("account", "acme"), ("amount", 25000), ("reference", "invoice 7"));
        var held = await w.StartHeldAsync(agent, "wires 25,000 to account acme (office.wire_money, irreversible)", "office.wire_money", wire, ct, () => Wires(stage));
        await w.GovernAsync("a human approver approves that exact wire", Expect.Accepted, async () =>
        {
            var approval = await w.Clients.Approver.ApproveAsync(held.ApprovalId ?? throw new InvalidOperationException("no held call to approve"),
                new ApproveRequest("invoice 7 checked"), ct);
            return $"approval {approval.Id} {approval.Status}";
        });
        await w.FinishAsync(held, "the held wire goes through once approved", Expect.Allow, () => Wires(stage));
    }

    private static Dictionary<string, object?> Args(params (string Name, object? Value)[] arguments) =>
        arguments.ToDictionary(a => a.Name, a => a.Value, StringComparer.Ordinal);

    private static string MailTo(IncidentStage stage, string to) => $"the outbox holds {stage.Outbox.Count(m => m.To == to)} mail(s) to {to}";

    private static string Wires(IncidentStage stage) => $"the ledger holds {stage.Ledger.Count} wire(s)";

    private static string PlanState(IncidentStage stage) =>
        File.ReadAllText(stage.PlanFile).Contains("(deleted)", StringComparison.Ordinal) ? "the plan was rewritten" : "the plan is unchanged";

    [GeneratedRegex(@"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", RegexOptions.CultureInvariant)]
    private static partial Regex EmailAddress();
}
