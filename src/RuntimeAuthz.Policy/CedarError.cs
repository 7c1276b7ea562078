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
    /// <summary>A name declared twice (an entity type, action, common type, or appliesTo element of a schema).</summary>
    DuplicateDeclaration,
    /// <summary>A definition that refers to itself (a common type in terms of itself, an action group containing itself).</summary>
    CyclicDefinition,
    /// <summary>A schema type that is neither a common type, an entity type nor a built-in type.</summary>
    UnknownType,
    /// <summary>A name that is not a Cedar identifier or path (spaces, reserved words).</summary>
    InvalidName,
    /// <summary>Text that is not JSON at all.</summary>
    InvalidJson,
    /// <summary>A JSON value of another kind than the format needs there (an object for an array, null for a value).</summary>
    UnexpectedJsonValue,
    /// <summary>A member the format requires is absent (an entity's <c>uid</c>, <c>attrs</c> or <c>parents</c>).</summary>
    MissingField,
    /// <summary>The same entity twice with different contents.</summary>
    DuplicateEntity,
    /// <summary>A temporal condition breaks one of Dogwood's acceptance rules; <see cref="CedarError.Rule"/> names it.</summary>
    TemporalRule,
    // ---- Dogwood event schemas ----
    /// <summary>A <c>max_window</c> that is zero or lacks its time unit.</summary>
    InvalidWindow,
    /// <summary>A declaration out of its place (<c>max_window</c> after an event).</summary>
    MisplacedDeclaration,
    /// <summary>An event schema with no <c>decision</c> event kind, under which nothing could be decided.</summary>
    MissingDecisionEvent,
    /// <summary>A selector used where it does not fit, unknown, or with an argument other than the action binder.</summary>
    InvalidSelector,
    /// <summary>A pin on a record group, a pin without its value, a value without <c>pin</c>, or a pin value that is not a reference.</summary>
    InvalidPin,

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
    /// <summary>For <see cref="CedarErrorKind.TemporalRule"/>: the rule broken, as Dogwood names it (<c>WF-Exists</c>, <c>TEMP-MaxWindow</c>).</summary>
    public string? Rule { get; init; }

    /// <summary>"source:line:column: message" (just the message when there is no position), with the help after a semicolon.</summary>
    public override string ToString() => $"{(Span.IsNone ? "" : $"{Span}: ")}{Message}{(Help is null ? "" : $"; {Help}")}";
}
