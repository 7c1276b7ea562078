using System.Globalization;
using RuntimeAuthz.Policy.Parsing;

namespace RuntimeAuthz.Policy.Temporal;

internal enum EventFieldShape { Leaf, Group, Spread }

/// <summary>A field of an event kind: a leaf, a record group, or a spread (<c>...inputs(A)</c> / <c>...outputs(A)</c>) whose members come from the action.</summary>
internal sealed record EventField(string Name, EventFieldShape Shape, string? Type, IReadOnlyList<EventField> Members, Term? Pin, SourcePosition Position);

/// <summary>One <c>[decision] event &lt;A&gt;::kind { … }</c> declaration.</summary>
internal sealed record EventKind(string Kind, bool IsDecision, IReadOnlyList<EventField> Fields, SourcePosition Position)
{
    /// <summary>Every pinned leaf as (dotted path, reference).</summary>
    public IEnumerable<(string Path, Term Reference)> Pins()
    {
        var result = new List<(string, Term)>();
        void Walk(IEnumerable<EventField> fields, string prefix)
        {
            foreach (var field in fields)
            {
                var path = prefix + field.Name;
                if (field.Pin is not null) result.Add((path, field.Pin));
                if (field.Shape == EventFieldShape.Group) Walk(field.Members, path + ".");
            }
        }
        Walk(Fields, "");
        return result;
    }

    public EventFieldShape? Resolve(string path, out EventField? field)
    {
        field = null;
        IReadOnlyList<EventField> level = Fields;
        var segments = path.Split('.');
        for (var i = 0; i < segments.Length; i++)
        {
            field = level.FirstOrDefault(f => f.Name == segments[i]);
            if (field is null) return null;
            if (field.Shape == EventFieldShape.Spread) return i == segments.Length - 1 ? EventFieldShape.Group : EventFieldShape.Leaf;
            if (field.Shape == EventFieldShape.Leaf) return i == segments.Length - 1 ? EventFieldShape.Leaf : null;
            level = field.Members;
        }
        return EventFieldShape.Group;
    }
}

/// <summary>
/// A Dogwood event schema (<c>.dwschema</c>): which event kinds exist, which of them are decision
/// points, their fields and pins, and the largest window a policy may use.
/// </summary>
public sealed class EventSchema
{
    /// <summary>The default cap on <c>within</c> windows when the schema does not set <c>max_window</c>.</summary>
    public const long DefaultMaxWindowMilliseconds = 24L * 3600 * 1000;

    /// <summary>
    /// AgentCore's event model: <c>request</c> (decision), <c>response</c> and <c>error</c>, each with
    /// the tool input, the principal and resource, the request id and the session id; the session id
    /// is pinned on every kind, so history is per session.
    /// </summary>
    public const string AgentCoreText = """
        // AgentCore Policy's temporal event model.
        decision event <A>::request {
            ...inputs(A),
            eventPrincipal: principalType(A),
            eventResource: resourceType(A),
            requestId: String,
            pin sessionId: String = context.sessionId,
        }
        event <A>::response {
            ...inputs(A),
            ...outputs(A),
            eventPrincipal: principalType(A),
            eventResource: resourceType(A),
            requestId: String,
            pin sessionId: String = context.sessionId,
        }
        event <A>::error {
            ...inputs(A),
            eventPrincipal: principalType(A),
            eventResource: resourceType(A),
            requestId: String,
            pin sessionId: String = context.sessionId,
        }
        """;

    /// <summary>Dogwood's own default (request/response/error with caller fields, no pins), used by the replay of Dogwood traces.</summary>
    public const string DogwoodDefaultText = """
        decision event <A>::request {
            ...inputs(A),
            callerPrincipal: principalType(A),
            callerResource: resourceType(A),
            requestId: String,
            sessionId: String,
        }
        event <A>::response {
            ...inputs(A),
            ...outputs(A),
            callerPrincipal: principalType(A),
            callerResource: resourceType(A),
            requestId: String,
            sessionId: String,
        }
        event <A>::error {
            ...inputs(A),
            callerPrincipal: principalType(A),
            callerResource: resourceType(A),
            requestId: String,
            sessionId: String,
        }
        """;

    public static EventSchema AgentCore { get; } = Parse(AgentCoreText, "agentcore.dwschema");
    public static EventSchema DogwoodDefault { get; } = Parse(DogwoodDefaultText, "default.dwschema");

    private readonly Dictionary<string, EventKind> kinds;

    private EventSchema(string sourceName, long maxWindow, List<EventKind> declared)
    {
        SourceName = sourceName;
        MaxWindowMilliseconds = maxWindow;
        kinds = declared.ToDictionary(k => k.Kind, StringComparer.Ordinal);
        Kinds = declared;
        DecisionKinds = declared.Where(k => k.IsDecision).Select(k => k.Kind).ToHashSet(StringComparer.Ordinal);
        UniversalPins = ComputeUniversalPins(declared);
    }

    public string SourceName { get; }
    public long MaxWindowMilliseconds { get; }
    public IReadOnlySet<string> DecisionKinds { get; }
    public IEnumerable<string> KindNames => Kinds.Select(k => k.Kind);
    internal IReadOnlyList<EventKind> Kinds { get; }
    /// <summary>Pins declared identically on every kind whose value is the field's own context path (or principal/resource aliases): history may be partitioned by them.</summary>
    internal IReadOnlyList<(string Path, Term Reference)> UniversalPins { get; }

    internal EventKind? Find(string kind) => kinds.GetValueOrDefault(kind);

    public bool IsDecisionKind(string kind) => DecisionKinds.Contains(kind);

    private static List<(string, Term)> ComputeUniversalPins(List<EventKind> declared)
    {
        var result = new List<(string, Term)>();
        if (declared.Count == 0) return result;
        foreach (var (path, reference) in declared[0].Pins())
        {
            var symmetric = reference switch
            {
                ContextTerm c => c.Dotted == path,
                ScopeTerm s => s.Attributes.Count == 0 && (path is "callerPrincipal" or "eventPrincipal" ? s.IsPrincipal : path is "callerResource" or "eventResource" && !s.IsPrincipal),
                _ => false,
            };
            if (!symmetric) continue;
            if (declared.All(k => k.Pins().Any(p => p.Path == path && Same(p.Reference, reference)))) result.Add((path, reference));
        }
        return result;
    }

    private static bool Same(Term a, Term b) => (a, b) switch
    {
        (ContextTerm x, ContextTerm y) => x.Dotted == y.Dotted,
        (ScopeTerm x, ScopeTerm y) => x.IsPrincipal == y.IsPrincipal && x.Attributes.SequenceEqual(y.Attributes),
        _ => false,
    };

    /// <summary>Parses a <c>.dwschema</c> file. Throws <see cref="CedarSyntaxException"/> with file:line:column.</summary>
    public static EventSchema Parse(string text, string sourceName = "event.dwschema")
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
        var tokens = new Lexer(text, sourceName).Tokenize();
        var reader = new SchemaReader(tokens, sourceName);
        var (maxWindow, declared) = reader.ReadSchema();
        if (declared.Count == 0)
            throw new CedarSyntaxException(CedarErrorKind.MissingDecisionEvent, sourceName, 1, 1, "the event schema declares no events, so no request could ever be decided (omit it to use the default)");
        if (!declared.Any(k => k.IsDecision))
            throw new CedarSyntaxException(CedarErrorKind.MissingDecisionEvent, sourceName, declared[0].Position.Line, declared[0].Position.Column, "the event schema declares no 'decision' event kind, so no request could ever be decided");
        return new EventSchema(sourceName, maxWindow, declared);
    }

    /// <summary>
    /// Builds an event's logged fields from a request, following the kind's declaration: spreads take
    /// <c>context.input</c> / the reported output, principal/resource selectors take the request's
    /// entities, <c>requestId</c>/<c>sessionId</c> the ids, and other fields the same-named context field.
    /// </summary>
    internal RecordValue BuildFields(string kind, EntityUid principal, EntityUid resource, RecordValue context, RecordValue? output, string requestId, string sessionId)
    {
        var declaration = Find(kind) ?? throw new ArgumentException($"event kind '{kind}' is not declared in {SourceName}", nameof(kind));
        return BuildGroup(declaration.Fields, context, principal, resource, context, output, requestId, sessionId);
    }

    private static RecordValue BuildGroup(IReadOnlyList<EventField> fields, RecordValue? source, EntityUid principal, EntityUid resource, RecordValue context, RecordValue? output, string requestId, string sessionId)
    {
        var values = new Dictionary<string, Value>(StringComparer.Ordinal);
        foreach (var field in fields)
        {
            Value? value = field.Shape switch
            {
                EventFieldShape.Spread when field.Name == "input" => TemporalValueOps.Lookup(context, "input") as RecordValue ?? RecordValue.Empty,
                EventFieldShape.Spread => output ?? RecordValue.Empty,
                EventFieldShape.Group => BuildGroup(field.Members, TemporalValueOps.Lookup(source, field.Name) as RecordValue, principal, resource, context, output, requestId, sessionId),
                _ => field.Type switch
                {
                    "principalType" => new EntityValue(principal),
                    "resourceType" => new EntityValue(resource),
                    _ when field.Name == "requestId" => new StringValue(requestId),
                    _ when field.Name == "sessionId" => new StringValue(sessionId),
                    _ => TemporalValueOps.Lookup(source, field.Name),
                },
            };
            if (value is not null) values[field.Name] = value;
        }
        return new RecordValue(values);
    }

    private sealed class SchemaReader(List<Token> tokens, string sourceName)
    {
        private int index;
        private Token Current => tokens[index];
        private Token Peek(int ahead = 1) => tokens[Math.Min(index + ahead, tokens.Count - 1)];
        private Token Advance() { var t = tokens[index]; if (index < tokens.Count - 1) index++; return t; }
        private CedarSyntaxException Error(Token at, CedarErrorKind kind, string detail) => new(kind, sourceName, at.Line, at.Column, detail);
        private bool IsWord(string w) => Current.Kind == TokenKind.Identifier && Current.Text == w;
        private Token Expect(TokenKind kind, string what, string context) =>
            Current.Kind == kind ? Advance() : throw Error(Current, CedarErrorKind.UnexpectedToken, $"expected {what} {context}, found {Current.Describe()}");

        public (long, List<EventKind>) ReadSchema()
        {
            var maxWindow = DefaultMaxWindowMilliseconds;
            if (IsWord("max_window"))
            {
                Advance();
                Expect(TokenKind.Assign, "'='", "after 'max_window'");
                var amount = Expect(TokenKind.Integer, "a window like 24h", "after 'max_window ='");
                var unit = Expect(TokenKind.Identifier, "a time unit (s, m, h or d)", $"after '{amount.Text}'");
                if (unit.Text is not ("s" or "m" or "h" or "d") || unit.Offset != amount.Offset + amount.Text.Length)
                    throw Error(unit, CedarErrorKind.InvalidWindow, $"expected a time unit (s, m, h or d) right after '{amount.Text}', found {unit.Describe()}");
                var n = long.Parse(amount.Text, CultureInfo.InvariantCulture);
                if (n == 0) throw Error(amount, CedarErrorKind.InvalidWindow, "max_window must be positive (omit it for the 24h default)");
                maxWindow = n * (unit.Text switch { "s" => 1L, "m" => 60L, "h" => 3600L, _ => 86400L }) * 1000;
            }
            var declared = new List<EventKind>();
            while (Current.Kind != TokenKind.EndOfInput)
            {
                if (IsWord("max_window")) throw Error(Current, CedarErrorKind.MisplacedDeclaration, "max_window must come first, before any event declaration");
                var start = Current;
                var decision = false;
                if (IsWord("decision")) { decision = true; Advance(); }
                if (!IsWord("event")) throw Error(Current, CedarErrorKind.UnexpectedToken, $"expected 'event' or 'decision event', found {Current.Describe()}");
                Advance();
                Expect(TokenKind.Less, "'<'", "after 'event' (declarations look like: event <A>::kind { … })");
                var binder = Expect(TokenKind.Identifier, "the action binder name", "inside '<…>'");
                Expect(TokenKind.Greater, "'>'", "after the action binder");
                Expect(TokenKind.DoubleColon, "'::'", "after '<" + binder.Text + ">'");
                var kind = Expect(TokenKind.Identifier, "an event kind name", "after '::'");
                if (declared.Any(k => k.Kind == kind.Text)) throw Error(kind, CedarErrorKind.DuplicateDeclaration, $"event kind '{kind.Text}' is declared twice");
                var fields = ReadFields(binder.Text);
                declared.Add(new EventKind(kind.Text, decision, fields, new SourcePosition(start.Line, start.Column)));
            }
            return (maxWindow, declared);
        }

        private List<EventField> ReadFields(string binder)
        {
            Expect(TokenKind.LeftBrace, "'{'", "to open the event's fields");
            var fields = new List<EventField>();
            while (Current.Kind != TokenKind.RightBrace)
            {
                var start = Current;
                var position = new SourcePosition(start.Line, start.Column);
                if (Current.Kind == TokenKind.Dot)
                {
                    for (var i = 0; i < 3; i++) Expect(TokenKind.Dot, "'...'", "to spread a selector");
                    var selector = Expect(TokenKind.Identifier, "inputs or outputs", "after '...'");
                    if (selector.Text is "principalType" or "resourceType")
                        throw Error(selector, CedarErrorKind.InvalidSelector, $"'{selector.Text}' cannot be spread (it yields entity types, not a field record); use it as a field type instead");
                    if (selector.Text is not ("inputs" or "outputs")) throw Error(selector, CedarErrorKind.InvalidSelector, $"unknown selector '{selector.Text}' (expected inputs, outputs, principalType or resourceType)");
                    ReadSelectorArgument(binder);
                    var name = selector.Text == "inputs" ? "input" : "output";
                    if (fields.Any(f => f.Name == name)) throw Error(start, CedarErrorKind.DuplicateDeclaration, $"the group '{name}' is declared twice in this event");
                    fields.Add(new EventField(name, EventFieldShape.Spread, selector.Text, [], null, position));
                }
                else
                {
                    var pinned = false;
                    if (IsWord("pin") && Peek().Kind == TokenKind.Identifier && Peek(2).Kind == TokenKind.Colon) { pinned = true; Advance(); }
                    var name = Expect(TokenKind.Identifier, "a field name or '...'", "in the event's fields");
                    Expect(TokenKind.Colon, "':'", $"after the field name '{name.Text}'");
                    if (fields.Any(f => f.Name == name.Text)) throw Error(name, CedarErrorKind.DuplicateDeclaration, $"duplicate field '{name.Text}'");
                    EventField field;
                    if (Current.Kind == TokenKind.LeftBrace)
                    {
                        if (pinned) throw Error(name, CedarErrorKind.InvalidPin, $"'{name.Text}' is a record group and cannot be pinned; pin a leaf inside it");
                        field = new EventField(name.Text, EventFieldShape.Group, null, ReadFields(binder), null, position);
                    }
                    else
                    {
                        var typeToken = Expect(TokenKind.Identifier, "a type", $"for the field '{name.Text}'");
                        string type;
                        if (typeToken.Text is "principalType" or "resourceType" or "inputs" or "outputs" && Current.Kind == TokenKind.LeftParen)
                        {
                            if (typeToken.Text is "inputs" or "outputs")
                                throw Error(typeToken, CedarErrorKind.InvalidSelector, $"'{typeToken.Text}' yields a field record and cannot be a type; spread it with '...{typeToken.Text}({binder})'");
                            ReadSelectorArgument(binder);
                            type = typeToken.Text;
                        }
                        else
                        {
                            var parts = new List<string> { typeToken.Text };
                            while (Current.Kind == TokenKind.DoubleColon) { Advance(); parts.Add(Expect(TokenKind.Identifier, "a type name", "after '::'").Text); }
                            type = string.Join("::", parts);
                        }
                        Term? pin = null;
                        if (Current.Kind == TokenKind.Assign)
                        {
                            if (!pinned) throw Error(Current, CedarErrorKind.InvalidPin, $"field '{name.Text}' has a '= …' value but is not marked 'pin'");
                            Advance();
                            pin = ReadPinReference();
                        }
                        else if (pinned) throw Error(name, CedarErrorKind.InvalidPin, $"pinned field '{name.Text}' is missing its pin value ('= context.…', '= principal' or '= resource')");
                        field = new EventField(name.Text, EventFieldShape.Leaf, type, [], pin, position);
                    }
                    fields.Add(field);
                }
                if (Current.Kind == TokenKind.Comma) Advance();
                else if (Current.Kind != TokenKind.RightBrace) throw Error(Current, CedarErrorKind.UnexpectedToken, $"expected ',' or '}}' after a field, found {Current.Describe()}");
            }
            Advance();
            return fields;
        }

        private void ReadSelectorArgument(string binder)
        {
            Expect(TokenKind.LeftParen, "'('", "after the selector");
            var argument = Expect(TokenKind.Identifier, "the action binder", "as the selector's argument");
            if (argument.Text != binder) throw Error(argument, CedarErrorKind.InvalidSelector, $"selector argument '{argument.Text}' does not name the declared action binder '{binder}'");
            Expect(TokenKind.RightParen, "')'", "after the selector's argument");
        }

        private Term ReadPinReference()
        {
            var root = Expect(TokenKind.Identifier, "context.…, principal or resource", "as the pin value");
            var position = new SourcePosition(root.Line, root.Column);
            var path = new List<string>();
            while (Current.Kind == TokenKind.Dot) { Advance(); path.Add(Expect(TokenKind.Identifier, "a field name", "after '.'").Text); }
            return root.Text switch
            {
                "context" when path.Count > 0 => new ContextTerm(path, position),
                "principal" => new ScopeTerm(true, path, position),
                "resource" => new ScopeTerm(false, path, position),
                _ => throw Error(root, CedarErrorKind.InvalidPin, "a pin value must be context.<path>, principal or resource"),
            };
        }
    }
}
