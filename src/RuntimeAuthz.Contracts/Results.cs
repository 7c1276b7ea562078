using System.Text.Json.Serialization;

namespace RuntimeAuthz.Contracts;

/// <summary>
/// Why a command was refused; the HTTP layer maps these to 404, 409, 400, 403 and 503. <see cref="Unavailable"/> is the one
/// a caller should send again unchanged: storage could not write, confirm or read what the command needs just now, and
/// the same command may succeed shortly. A record that was not confirmed may still land; the command sent again is then
/// refused as already done (a <see cref="Conflict"/>), never carried out twice.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<CommandError>))]
public enum CommandError { None, NotFound, Conflict, Invalid, Forbidden, Unavailable }

/// <summary>A problem located in a source text (policy or schema), 1-based line and column.</summary>
[GenerateSerializer, Immutable, Alias("authz.SourceIssue")]
public sealed record SourceIssue
{
    [Id(0)] public string Source { get; init; } = "";
    [Id(1)] public int Line { get; init; }
    [Id(2)] public int Column { get; init; }
    [Id(3)] public string Message { get; init; } = "";
}

/// <summary>The result of a grain command: a value, or an error with a message (and located issues).</summary>
[GenerateSerializer, Immutable, Alias("authz.CommandResult`1")]
public sealed record CommandResult<T>
{
    [Id(0)] public T? Value { get; init; }
    [Id(1)] public CommandError Error { get; init; }
    [Id(2)] public string? Message { get; init; }
    [Id(3)] public IReadOnlyList<SourceIssue> Issues { get; init; } = [];
    /// <summary>The refusal's kind for clients that act on it (<see cref="ProblemTypes"/>); null for most refusals.</summary>
    [Id(4)] public string? ProblemType { get; init; }

    public bool IsSuccess => Error == CommandError.None;

    public static CommandResult<T> Ok(T value) => new() { Value = value };

    public static CommandResult<T> Fail(CommandError error, string message, IReadOnlyList<SourceIssue>? issues = null, string? problemType = null) =>
        new() { Error = error, Message = message, Issues = issues ?? [], ProblemType = problemType };
}
