using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;

namespace RuntimeAuthz.Replay.WhatIf;

/// <summary>One session as its evidence chain recorded it, with its agent as it is now and when it was opened.</summary>
/// <param name="Agent">Null when the agent no longer exists: its decisions are not replayable.</param>
public sealed record RecordedSession(string SessionId, AgentInfo? Agent, DateTimeOffset OpenedAt, IReadOnlyList<EvidenceBody> Records);

/// <summary>What became of one recorded decision.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<ReplayStatus>))]
public enum ReplayStatus
{
    /// <summary>Decided again by the candidate.</summary>
    Replayed,
    /// <summary>Denied before the policies ran (session gate, agent status, grants, storage): no policy change alters it.</summary>
    DecidedBeforePolicy,
    /// <summary>Its input (or what its session had seen before it) is not fully recorded: never guessed.</summary>
    NotReplayable,
}

/// <summary>Why a decision is not replayable.</summary>
public static class NotReplayableReasons
{
    public const string Redacted = "redacted-input";
    public const string Truncated = "truncated-input";
    public const string Unparsed = "unparsed-input";
    public const string UsesApproval = "uses-approval";
    public const string Superseded = "superseded-answer";
    public const string UnknownAgent = "agent-gone";
    /// <summary>An earlier decision or outcome of the session was not replayable, so its history (risk, events) after it is not known.</summary>
    public const string AfterUnreplayable = "after-unreplayable";
    /// <summary>The candidate allows an earlier call that was denied: its outcome, which temporal policies would see, never happened.</summary>
    public const string AfterNewlyAllowed = "after-newly-allowed";
}

public sealed record ReplayedDecision
{
    public string DecisionId { get; init; } = "";
    public string SessionId { get; init; } = "";
    public string AgentId { get; init; } = "";
    public DateTimeOffset At { get; init; }
    public string Action { get; init; } = "";
    public string Resource { get; init; } = "";
    public string RecordedOutcome { get; init; } = "";
    public string? RecordedDenyReason { get; init; }
    public IReadOnlyList<string> RecordedPolicies { get; init; } = [];
    public long? RecordedVersion { get; init; }
    public ReplayStatus Status { get; init; }
    public string? CandidateOutcome { get; init; }
    public string? CandidateDenyReason { get; init; }
    /// <summary>The candidate's determining policies, by <c>@id</c> where they have one.</summary>
    public IReadOnlyList<string> CandidatePolicies { get; init; } = [];
    public string? NotReplayableReason { get; init; }

    public bool Changed => Status == ReplayStatus.Replayed && !string.Equals(CandidateOutcome, RecordedOutcome, StringComparison.Ordinal);
}

/// <summary>What may be replayed, and how much.</summary>
public sealed record WhatIfOptions
{
    public const int DefaultMaxDecisions = 100_000;
    public const int MaxMaxDecisions = 1_000_000;
    public const int ExampleCount = 20;

    /// <summary>Only decisions from this time on are reported (earlier ones still shape their sessions' history).</summary>
    public DateTimeOffset? Since { get; init; }
    public string? AgentId { get; init; }
    public string? Fleet { get; init; }
    /// <summary>Stop after this many reported decisions (the report then says it is truncated).</summary>
    public int MaxDecisions { get; init; } = DefaultMaxDecisions;
    /// <summary>Keep every decision in the report (tests, exports); otherwise only examples.</summary>
    public bool KeepDecisions { get; init; }
}

public sealed record OutcomeChange(string From, string To, int Count);

public sealed record ChangeGroup(string Key, int Changed, int AllowToDeny, int DenyToAllow, int Other, IReadOnlyList<string> ExampleDecisionIds);

/// <summary>The answer to "what would this policy have decided on that traffic?".</summary>
public sealed record WhatIfReport
{
    public int Sessions { get; init; }
    /// <summary>Decisions in the reported range (after the filters and <see cref="WhatIfOptions.Since"/>).</summary>
    public int Decisions { get; init; }
    public int Replayed { get; init; }
    public int Changed { get; init; }
    public int Unchanged { get; init; }
    public int DecidedBeforePolicy { get; init; }
    public int NotReplayable { get; init; }
    public IReadOnlyDictionary<string, int> NotReplayableByReason { get; init; } = new Dictionary<string, int>();
    public IReadOnlyList<OutcomeChange> Changes { get; init; } = [];
    /// <summary>Changed decisions grouped by the candidate policies that decided them (<c>(no permit)</c> when none did).</summary>
    public IReadOnlyList<ChangeGroup> ByPolicy { get; init; } = [];
    public IReadOnlyList<ChangeGroup> ByAgent { get; init; } = [];
    public IReadOnlyList<ReplayedDecision> Examples { get; init; } = [];
    public IReadOnlyList<ReplayedDecision> NotReplayableExamples { get; init; } = [];
    /// <summary>The limit of decisions was reached: later decisions were not looked at.</summary>
    public bool Truncated { get; init; }
    public IReadOnlyList<ReplayedDecision>? All { get; init; }
}
