namespace RuntimeAuthz.Policy;

/// <summary>What went wrong, for parse, validation and evaluation errors alike (callers branch on this, not on message text).</summary>
public enum CedarErrorKind
{
    // ---- parsing ----
    /// <summary>A token the grammar does not allow where it stands.</summary>
    UnexpectedToken,
    UnexpectedCharacter,
    UnterminatedString,
    InvalidEscape,
    ReservedWord,
    IntegerOutOfRange,
    DuplicateKey,
    DuplicateAnnotation,
    /// <summary>A template slot outside the scope, or in the wrong scope constraint.</summary>
    MisplacedSlot,
    /// <summary>An entity of a type other than Action where an action is required.</summary>
    NotAnAction,
    UnknownFunction,
    UnknownMethod,
    /// <summary>A built-in method called with the wrong number of arguments (extension functions report it when evaluated or validated).</summary>
    WrongArity,
    ChainedComparison,
    MixedUnaryOperators,
    /// <summary>Nesting or tree depth beyond the parser's bounds.</summary>
    TooDeep,
    EmptyCondition,
    /// <summary>Another input format (schema, JSON, Dogwood) is malformed.</summary>
    Syntax,

    // ---- validation ----
    UnknownEntityType,
    UnknownAction,
    /// <summary>No action in the policy's scope applies to its principal and resource types.</summary>
    ImpossiblePolicy,
    UndeclaredAttribute,
    /// <summary>An optional attribute read without a <c>has</c> guard.</summary>
    UnguardedAttribute,
    /// <summary>A tag read without a <c>hasTag</c> guard.</summary>
    UnguardedTag,
    NoTags,
    TypeMismatch,
    /// <summary>Branches of an <c>if</c> or elements of a set whose types have no common type.</summary>
    IncompatibleTypes,
    EmptySetLiteral,
    /// <summary>An extension constructor called with something other than a string literal, or with an invalid literal.</summary>
    InvalidExtensionArgument,
    /// <summary>A request whose principal, action, resource or context the schema does not allow.</summary>
    InvalidRequest,

    // ---- evaluation ----
    TypeError,
    IntegerOverflow,
    MissingAttribute,
    EntityNotFound,
    MissingTag,
    ExtensionError,
    /// <summary>A temporal condition that could not be evaluated (outside a session, or its history failed).</summary>
    Temporal,
    /// <summary>The decision spent its evaluation budget (<see cref="Authorizer.DefaultEvaluationBudget"/>) and was denied.</summary>
    BudgetExceeded,
}

/// <summary>One error with where it is, what kind it is, and, when there is something to suggest, how to fix it.</summary>
public sealed record CedarError(CedarErrorKind Kind, SourceSpan Span, string Message, string? Help = null)
{
    /// <summary>"source:line:column: message" (just the message when there is no position), with the help after a semicolon.</summary>
    public override string ToString() => $"{(Span.IsNone ? "" : $"{Span}: ")}{Message}{(Help is null ? "" : $"; {Help}")}";
}
