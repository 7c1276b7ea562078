using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;
using RuntimeAuthz.Grains.Sessions;

namespace RuntimeAuthz.Grains.Approvals;

/// <summary>
/// A session's approval requests as its chain tells them: every record with an approval part goes
/// through <see cref="Apply"/>, live or replayed, so a used approval stays used after a restart.
/// Keeps the most recent <see cref="MaxKept"/> (closed ones are dropped first).
/// </summary>
public sealed class SessionApprovals(IEnumerable<ApprovalInfo>? approvals)
{
    public const int MaxKept = 64;

    private readonly List<ApprovalInfo> items = [.. approvals ?? []];

    public IReadOnlyList<ApprovalInfo> All => items;

    public ApprovalInfo? Find(string id) => items.Find(a => a.Id == id);

    /// <summary>Open requests whose time is up at <paramref name="now"/> (they are closed with an expired record).</summary>
    public IReadOnlyList<ApprovalInfo> DueToExpire(DateTimeOffset now) => [.. items.Where(a => a.IsOpen && now >= a.ExpiresAt)];

    public void Apply(EvidenceBody body, string sessionId)
    {
        var part = body.Approval!;
        var at = SessionLedger.ParseTime(body.Time);
        if (part.Act == ApprovalActs.Requested)
        {
            Guid.TryParse(body.DecisionId, out var decisionId);
            items.Add(new ApprovalInfo
            {
                Id = part.Id, SessionId = sessionId, AgentId = body.AgentId ?? "", Status = ApprovalStatus.Pending,
                Action = body.Action ?? "", Resource = body.Resource ?? "", CallJson = body.Input, BindingDigest = part.BindingDigest ?? "",
                DeterminingPolicies = body.DeterminingPolicies ?? [], PolicyVersion = body.PolicyVersion ?? 0, SessionRisk = part.SessionRisk ?? 0,
                Timeline = part.Timeline ?? [], Requester = part.Requester ?? "", RequiredApprovals = Math.Max(1, part.Required ?? 1),
                RequestedAt = at, ExpiresAt = part.ExpiresAt is { } expires ? SessionLedger.ParseTime(expires) : at, RequestDecisionId = decisionId,
            });
            Trim();
            return;
        }
        var index = items.FindIndex(a => a.Id == part.Id);
        if (index < 0) return;
        var current = items[index];
        items[index] = part.Act switch
        {
            ApprovalActs.Approved => Approve(current, new ApproverVote { Approver = body.Actor ?? "", At = at, Comment = part.Reason }),
            ApprovalActs.Rejected => current with { Status = ApprovalStatus.Rejected, ClosedAt = at, ClosedBy = body.Actor, Reason = part.Reason },
            ApprovalActs.Cancelled => current with { Status = ApprovalStatus.Cancelled, ClosedAt = at, ClosedBy = body.Actor, Reason = part.Reason },
            ApprovalActs.Expired => current with { Status = ApprovalStatus.Expired, ClosedAt = at },
            ApprovalActs.Consumed => current with
            {
                Status = ApprovalStatus.Consumed, ClosedAt = at, ConsumedByDecisionId = Guid.TryParse(body.DecisionId, out var used) ? used : null,
            },
            _ => current,
        };
    }

    private static ApprovalInfo Approve(ApprovalInfo current, ApproverVote vote)
    {
        var votes = current.Approvals.Append(vote).ToArray();
        return current with { Approvals = votes, Status = votes.Length >= current.RequiredApprovals ? ApprovalStatus.Approved : ApprovalStatus.Pending };
    }

    private void Trim()
    {
        while (items.Count > MaxKept)
        {
            var closed = items.FindIndex(a => !a.IsOpen);
            items.RemoveAt(closed >= 0 ? closed : 0);
        }
    }
}
