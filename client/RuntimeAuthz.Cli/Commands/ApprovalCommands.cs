using System.CommandLine;
using System.Globalization;
using RuntimeAuthz.Cli.Infrastructure;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.Cli.Commands;

/// <summary><c>authz approvals ...</c>: list, show, approve, reject and wait for approval requests.</summary>
public static class ApprovalCommands
{
    public const int MaxWaitSeconds = 60;

    public static Command Create(CommandRunner runner)
    {
        var approvals = new Command("approvals", "List, show, approve, reject and wait for approval requests of held calls");
        approvals.Aliases.Add("approval");
        approvals.Subcommands.Add(List(runner));
        approvals.Subcommands.Add(Show(runner));
        approvals.Subcommands.Add(Approve(runner));
        approvals.Subcommands.Add(Reject(runner));
        approvals.Subcommands.Add(Wait(runner));
        return approvals;
    }

    private static Command List(CommandRunner runner)
    {
        var status = new Option<string?>("--status") { Description = "Only requests with this status: pending, approved, rejected, expired, cancelled, consumed" };
        var session = new Option<string?>("--session") { Description = "Only requests of this session" };
        var ids = new Option<bool>("--ids") { Description = "Print only the ids, one per line (for scripts)" };
        var command = new Command("list", "List recent approval requests, newest first") { status, session, ids };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var listed = await call.Client.ListApprovalsAsync(call.Get(status), cancellationToken: cancellationToken).ConfigureAwait(false);
            var shown = call.Get(session) is { } only ? listed.Where(a => a.SessionId == only).ToArray() : listed;
            if (call.Json)
            {
                Display.Json(call.Output, shown);
            }
            else if (call.Get(ids))
            {
                foreach (var approval in shown) call.Output.WriteLine(approval.Id);
            }
            else if (shown.Count == 0)
            {
                call.Output.WriteLine("No approval requests.");
            }
            else
            {
                var table = new TextTable("ID", "STATUS", "AGENT", "ACTION", "RESOURCE", "APPROVALS", "EXPIRES");
                foreach (var a in shown)
                {
                    table.Add(a.Id, a.Status, a.AgentId, a.Action, a.Resource, $"{a.Approvals}/{a.RequiredApprovals}", Display.Relative(a.ExpiresAt, call.Now));
                }
                table.WriteTo(call.Output);
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Show(CommandRunner runner)
    {
        var id = new Argument<string>("id") { Description = "Approval id" };
        var command = new Command("show", "Show an approval request: the held call, its binding digest, who may approve and who did") { id };
        runner.SetAction(command, async (call, cancellationToken) =>
            Write(call, await call.Client.GetApprovalAsync(call.Required(id), cancellationToken).ConfigureAwait(false)));
        return command;
    }

    private static Command Approve(CommandRunner runner)
    {
        var id = new Argument<string>("id") { Description = "Approval id" };
        var comment = new Option<string?>("--comment") { Description = "A note kept with the approval" };
        var command = new Command("approve", "Approve a held call (you must not be the agent, its owner or the requester)") { id, comment };
        runner.SetAction(command, async (call, cancellationToken) =>
            Write(call, await call.Client.ApproveAsync(call.Required(id), new ApproveRequest(call.Get(comment)), cancellationToken).ConfigureAwait(false)));
        return command;
    }

    private static Command Reject(CommandRunner runner)
    {
        var id = new Argument<string>("id") { Description = "Approval id" };
        var reason = new Option<string>("--reason") { Description = "Why (the agent is told)", Required = true };
        var command = new Command("reject", "Reject a held call with a reason") { id, reason };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var text = call.Get(reason);
            if (string.IsNullOrWhiteSpace(text)) throw new UserInputException("--reason must not be empty");
            return Write(call, await call.Client.RejectAsync(call.Required(id), text, cancellationToken).ConfigureAwait(false));
        });
        return command;
    }

    private static Command Wait(CommandRunner runner)
    {
        var id = new Argument<string>("id") { Description = "Approval id" };
        var timeout = new Option<string?>("--timeout") { Description = $"How long to wait, e.g. 30s or 2m (default 30s; the service answers at least every {MaxWaitSeconds}s)" };
        var command = new Command("wait", "Wait until an approval request is decided; exit 0 when approved, 2 when it cannot be used, 3 when still pending") { id, timeout };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var total = TimeSpan.FromSeconds(InputParsing.ParseSeconds(call.Get(timeout), "--timeout") ?? 30);
            var deadline = call.Now + total;
            // Each call waits at most MaxWaitSeconds on the service; the count bounds the loop even if the clock stands still.
            var calls = (int)Math.Ceiling(total.TotalSeconds / MaxWaitSeconds) + 1;
            Approval approval;
            do
            {
                calls--;
                var left = deadline - call.Now;
                var slice = left > TimeSpan.FromSeconds(MaxWaitSeconds) ? TimeSpan.FromSeconds(MaxWaitSeconds) : left < TimeSpan.Zero ? TimeSpan.Zero : left;
                approval = await call.Client.WaitForApprovalAsync(call.Required(id), slice, cancellationToken).ConfigureAwait(false);
            }
            while (approval.IsPending && calls > 0 && call.Now < deadline && !cancellationToken.IsCancellationRequested);
            Write(call, approval);
            return approval.Status switch
            {
                "approved" => ExitCodes.Success,
                "pending" => ExitCodes.ApprovalRequired,
                _ => ExitCodes.Deny,
            };
        });
        return command;
    }

    private static int Write(Invocation call, Approval approval)
    {
        if (call.Json)
        {
            Display.Json(call.Output, approval);
            return ExitCodes.Success;
        }
        new KeyValueBlock()
            .Add("Approval", approval.Id)
            .Add("Status", approval.Status)
            .Add("Call", $"{approval.AgentId} {approval.Action} {approval.Resource}")
            .Add("Input", approval.Call?.TryGetProperty("input", out var input) == true ? input.GetRawText() : "-")
            .Add("Binding digest", approval.BindingDigest)
            .Add("Policies", Display.List(approval.DeterminingPolicies))
            .Add("Session", $"{approval.SessionId} (risk {approval.SessionRisk.ToString(CultureInfo.InvariantCulture)})")
            .Add("Requested by", approval.Requester)
            .Add("Who may approve", approval.WhoMayApprove)
            .Add("Approvals", $"{approval.Approvals.Count}/{approval.RequiredApprovals}" +
                (approval.Approvals.Count > 0 ? $": {string.Join(", ", approval.Approvals.Select(v => v.Approver))}" : ""))
            .Add("Expires", $"{Display.Time(approval.ExpiresAt)} ({Display.Relative(approval.ExpiresAt, call.Now)})")
            .Add("Closed", approval.ClosedAt is null ? null : $"{Display.Time(approval.ClosedAt)} by {Display.Text(approval.ClosedBy)}: {Display.Text(approval.Reason)}")
            .Add("Used by decision", approval.ConsumedByDecisionId?.ToString())
            .WriteTo(call.Output);
        if (approval.Timeline.Count > 0)
        {
            call.Output.WriteLine();
            call.Output.WriteLine("Recent decisions in the session");
            foreach (var line in approval.Timeline) call.Output.WriteLine($"  {line}");
        }
        return ExitCodes.Success;
    }
}
