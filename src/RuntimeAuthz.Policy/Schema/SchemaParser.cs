namespace RuntimeAuthz.Policy.Schema;

// ---- syntax tree of a human-readable schema, before name resolution -----------------------

internal readonly record struct SourcePos(int Line, int Column);

internal sealed record RawPath(IReadOnlyList<string> Segments, SourcePos Pos)
{
    public string FullName => string.Join("::", Segments);
}

internal abstract record RawType(SourcePos Pos);
internal sealed record RawNamedType(RawPath Path) : RawType(Path.Pos);
internal sealed record RawSetType(RawType Element, SourcePos At) : RawType(At);
internal sealed record RawRecordType(IReadOnlyList<RawAttribute> Attributes, SourcePos At) : RawType(At);
internal sealed record RawAttribute(string Name, bool Required, RawType Type, IReadOnlyDictionary<string, string> Annotations, SourcePos Pos);

internal abstract record RawDeclaration(IReadOnlyDictionary<string, string> Annotations, SourcePos Pos);
internal sealed record RawEntityDeclaration(
    IReadOnlyList<(string Name, SourcePos Pos)> Names,
    IReadOnlyList<RawPath> MemberOf,
    RawRecordType? Attributes,
    RawType? Tags,
    IReadOnlyList<string>? EnumIds,
    IReadOnlyDictionary<string, string> Annotations,
    SourcePos At) : RawDeclaration(Annotations, At);
internal sealed record RawActionRef(RawPath? TypePath, string Id, SourcePos Pos);
internal sealed record RawAppliesTo(IReadOnlyList<RawPath>? Principals, IReadOnlyList<RawPath>? Resources, RawType? Context, SourcePos Pos);
internal sealed record RawActionDeclaration(
    IReadOnlyList<(string Name, SourcePos Pos)> Names,
    IReadOnlyList<RawActionRef> MemberOf,
    RawAppliesTo? AppliesTo,
    IReadOnlyDictionary<string, string> Annotations,
    SourcePos At) : RawDeclaration(Annotations, At);
internal sealed record RawCommonTypeDeclaration(string Name, RawType Definition, IReadOnlyDictionary<string, string> Annotations, SourcePos At)
    : RawDeclaration(Annotations, At);
internal sealed record RawNamespace(RawPath? Name, IReadOnlyList<RawDeclaration> Declarations, IReadOnlyDictionary<string, string> Annotations);

/// <summary>Recursive-descent parser for Cedar's human-readable schema format.</summary>
internal sealed class SchemaParser
{
    // Words that can never be an identifier (Cedar's reserved identifiers).
    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal) { "true", "false", "if", "then", "else", "in", "like", "has", "is" };

    private readonly List<SchemaToken> _tokens;
    private readonly string _sourceName;
    private int _index;

    private SchemaParser(List<SchemaToken> tokens, string sourceName)
    {
        _tokens = tokens;
        _sourceName = sourceName;
    }

    public static List<RawNamespace> Parse(string text, string sourceName)
    {
        var parser = new SchemaParser(SchemaLexer.Tokenize(text, sourceName), sourceName);
        return parser.ParseSchema();
    }

    private SchemaToken Current => _tokens[_index];
    private SchemaToken Peek(int ahead = 1) => _tokens[Math.Min(_index + ahead, _tokens.Count - 1)];
    private SchemaToken Advance() => _tokens[_index++];

    private CedarSyntaxException Error(SchemaToken at, string detail) => Error(at, CedarErrorKind.UnexpectedToken, detail);

    private CedarSyntaxException Error(SchemaToken at, CedarErrorKind kind, string detail) => new(kind, _sourceName, at.Line, at.Column, detail);
    private static SourcePos PosOf(SchemaToken t) => new(t.Line, t.Column);

    private SchemaToken ExpectPunct(string p, string context)
    {
        if (!Current.IsPunct(p)) throw Error(Current, $"expected '{p}' {context}, found {Current.Describe()}");
        return Advance();
    }

    private bool AcceptPunct(string p)
    {
        if (!Current.IsPunct(p)) return false;
        _index++;
        return true;
    }

    private List<RawNamespace> ParseSchema()
    {
        var result = new List<RawNamespace>();
        while (Current.Kind != SchemaTokenKind.End)
        {
            var annotations = ParseAnnotations();
            if (Current.IsWord("namespace"))
            {
                Advance();
                var name = ParsePath("after 'namespace'");
                ExpectPunct("{", "to open the namespace body");
                var declarations = new List<RawDeclaration>();
                while (!Current.IsPunct("}"))
                {
                    if (Current.Kind == SchemaTokenKind.End) throw Error(Current, $"expected '}}' to close namespace '{name.FullName}'");
                    var declAnnotations = ParseAnnotations();
                    declarations.Add(ParseDeclaration(declAnnotations));
                }
                Advance();
                result.Add(new RawNamespace(name, declarations, annotations));
            }
            else
            {
                result.Add(new RawNamespace(null, [ParseDeclaration(annotations)], EmptyAnnotations));
            }
        }
        return result;
    }

    private static readonly IReadOnlyDictionary<string, string> EmptyAnnotations = new Dictionary<string, string>(StringComparer.Ordinal);

    private IReadOnlyDictionary<string, string> ParseAnnotations()
    {
        if (!Current.IsPunct("@")) return EmptyAnnotations;
        var annotations = new Dictionary<string, string>(StringComparer.Ordinal);
        while (Current.IsPunct("@"))
        {
            Advance();
            var keyToken = Current;
            if (keyToken.Kind != SchemaTokenKind.Identifier) throw Error(keyToken, $"expected an annotation name after '@', found {keyToken.Describe()}");
            Advance();
            string value = "";
            if (AcceptPunct("("))
            {
                if (Current.Kind != SchemaTokenKind.String) throw Error(Current, $"expected a string as the value of annotation '@{keyToken.Text}', found {Current.Describe()}");
                value = Advance().Text;
                ExpectPunct(")", $"after the value of annotation '@{keyToken.Text}'");
            }
            if (!annotations.TryAdd(keyToken.Text, value)) throw Error(keyToken, CedarErrorKind.DuplicateAnnotation, $"duplicate annotation '@{keyToken.Text}'");
        }
        return annotations;
    }

    private RawDeclaration ParseDeclaration(IReadOnlyDictionary<string, string> annotations)
    {
        var start = Current;
        if (start.IsWord("entity")) return ParseEntity(annotations);
        if (start.IsWord("action")) return ParseAction(annotations);
        if (start.IsWord("type")) return ParseCommonType(annotations);
        throw Error(start, $"expected 'entity', 'action', 'type' or 'namespace', found {start.Describe()}");
    }

    private (string Name, SourcePos Pos) ParseIdent(string context)
    {
        var t = Current;
        if (t.Kind != SchemaTokenKind.Identifier) throw Error(t, $"expected an identifier {context}, found {t.Describe()}");
        if (Reserved.Contains(t.Text)) throw Error(t, CedarErrorKind.ReservedWord, $"'{t.Text}' is a reserved word and cannot be used as an identifier");
        Advance();
        return (t.Text, PosOf(t));
    }

    private RawPath ParsePath(string context)
    {
        var first = ParseIdent(context);
        var segments = new List<string> { first.Name };
        while (Current.IsPunct("::") && Peek().Kind == SchemaTokenKind.Identifier)
        {
            Advance();
            segments.Add(ParseIdent("after '::'").Name);
        }
        return new RawPath(segments, first.Pos);
    }

    private RawEntityDeclaration ParseEntity(IReadOnlyDictionary<string, string> annotations)
    {
        var start = Advance();
        var names = new List<(string, SourcePos)> { ParseIdent("as the entity type name") };
        while (AcceptPunct(",")) names.Add(ParseIdent("as the entity type name"));

        if (Current.IsWord("enum"))
        {
            Advance();
            ExpectPunct("[", "after 'enum'");
            var ids = new List<string>();
            do
            {
                if (Current.Kind != SchemaTokenKind.String) throw Error(Current, $"expected a string in the enum list, found {Current.Describe()}");
                ids.Add(Advance().Text);
            } while (AcceptPunct(","));
            ExpectPunct("]", "to close the enum list");
            ExpectPunct(";", "after the entity declaration");
            return new RawEntityDeclaration(names, [], null, null, ids, annotations, PosOf(start));
        }

        var memberOf = new List<RawPath>();
        if (Current.IsWord("in"))
        {
            Advance();
            memberOf.AddRange(ParseEntityTypeList("after 'in'"));
        }
        RawRecordType? attributes = null;
        if (Current.IsPunct("=") || Current.IsPunct("{"))
        {
            AcceptPunct("=");
            if (!Current.IsPunct("{")) throw Error(Current, $"expected '{{' to start the attribute record, found {Current.Describe()}");
            attributes = ParseRecord();
        }
        RawType? tags = null;
        if (Current.IsWord("tags"))
        {
            Advance();
            tags = ParseType();
        }
        ExpectPunct(";", "at the end of the entity declaration");
        return new RawEntityDeclaration(names, memberOf, attributes, tags, null, annotations, PosOf(start));
    }

    // EntTypes := Path | '[' [Path {',' Path}] ']'
    private List<RawPath> ParseEntityTypeList(string context)
    {
        var list = new List<RawPath>();
        if (AcceptPunct("["))
        {
            if (AcceptPunct("]")) return list;
            do list.Add(ParsePath("as an entity type name"));
            while (AcceptPunct(","));
            ExpectPunct("]", "to close the entity type list");
            return list;
        }
        list.Add(ParsePath(context));
        return list;
    }

    private (string Name, SourcePos Pos) ParseName(string context)
    {
        if (Current.Kind == SchemaTokenKind.String)
        {
            var t = Advance();
            return (t.Text, PosOf(t));
        }
        return ParseIdent(context);
    }

    private RawActionDeclaration ParseAction(IReadOnlyDictionary<string, string> annotations)
    {
        var start = Advance();
        var names = new List<(string, SourcePos)> { ParseName("as the action name") };
        while (AcceptPunct(",")) names.Add(ParseName("as the action name"));

        var memberOf = new List<RawActionRef>();
        if (Current.IsWord("in"))
        {
            Advance();
            if (AcceptPunct("["))
            {
                do memberOf.Add(ParseActionRef());
                while (AcceptPunct(","));
                ExpectPunct("]", "to close the action group list");
            }
            else memberOf.Add(ParseActionRef());
        }

        RawAppliesTo? appliesTo = null;
        if (Current.IsWord("appliesTo"))
        {
            var at = Advance();
            ExpectPunct("{", "after 'appliesTo'");
            appliesTo = ParseAppliesTo(PosOf(at));
        }
        if (Current.IsWord("attributes"))
        {
            Advance();
            ExpectPunct("{", "after 'attributes'");
            ExpectPunct("}", "(action attributes are not supported; only an empty record is allowed)");
        }
        ExpectPunct(";", "at the end of the action declaration");
        return new RawActionDeclaration(names, memberOf, appliesTo, annotations, PosOf(start));
    }

    // QualName := Name | Path '::' STR
    private RawActionRef ParseActionRef()
    {
        var start = Current;
        if (start.Kind == SchemaTokenKind.String)
        {
            Advance();
            return new RawActionRef(null, start.Text, PosOf(start));
        }
        var first = ParseIdent("as an action name");
        var segments = new List<string> { first.Name };
        while (AcceptPunct("::"))
        {
            if (Current.Kind == SchemaTokenKind.String)
            {
                string id = Advance().Text;
                return new RawActionRef(new RawPath(segments, first.Pos), id, first.Pos);
            }
            segments.Add(ParseIdent("after '::'").Name);
        }
        if (segments.Count == 1) return new RawActionRef(null, first.Name, first.Pos);
        throw Error(Current, $"expected '::\"<action id>\"' after '{string.Join("::", segments)}', found {Current.Describe()}");
    }

    private RawAppliesTo ParseAppliesTo(SourcePos pos)
    {
        List<RawPath>? principals = null, resources = null;
        RawType? context = null;
        while (!AcceptPunct("}"))
        {
            var key = Current;
            if (key.IsWord("principal") || key.IsWord("resource"))
            {
                Advance();
                ExpectPunct(":", $"after '{key.Text}'");
                var list = ParseEntityTypeList($"after '{key.Text}:'");
                if (key.Text == "principal")
                {
                    if (principals != null) throw Error(key, CedarErrorKind.DuplicateDeclaration, "'principal' is declared twice in appliesTo");
                    principals = list;
                }
                else
                {
                    if (resources != null) throw Error(key, CedarErrorKind.DuplicateDeclaration, "'resource' is declared twice in appliesTo");
                    resources = list;
                }
            }
            else if (key.IsWord("context"))
            {
                Advance();
                ExpectPunct(":", "after 'context'");
                if (context != null) throw Error(key, CedarErrorKind.DuplicateDeclaration, "'context' is declared twice in appliesTo");
                context = Current.IsPunct("{") ? ParseRecord() : new RawNamedType(ParsePath("as the context type"));
            }
            else
            {
                throw Error(key, $"expected 'principal', 'resource', 'context' or '}}' in appliesTo, found {key.Describe()}");
            }
            if (!AcceptPunct(","))
            {
                ExpectPunct("}", "to close appliesTo");
                break;
            }
        }
        return new RawAppliesTo(principals, resources, context, pos);
    }

    private RawCommonTypeDeclaration ParseCommonType(IReadOnlyDictionary<string, string> annotations)
    {
        var start = Advance();
        var name = ParseIdent("as the common type name");
        ExpectPunct("=", $"after the common type name '{name.Name}'");
        var type = ParseType();
        ExpectPunct(";", "at the end of the common type declaration");
        return new RawCommonTypeDeclaration(name.Name, type, annotations, PosOf(start));
    }

    // Type := Path | 'Set' '<' Type '>' | '{' [AttrDecls] '}'
    private RawType ParseType()
    {
        var t = Current;
        if (t.IsPunct("{")) return ParseRecord();
        if (t.IsWord("Set") && Peek().IsPunct("<"))
        {
            Advance();
            Advance();
            var element = ParseType();
            ExpectPunct(">", "to close 'Set<'");
            return new RawSetType(element, PosOf(t));
        }
        if (t.Kind == SchemaTokenKind.Identifier) return new RawNamedType(ParsePath("as a type"));
        throw Error(t, $"expected a type, found {t.Describe()}");
    }

    private RawRecordType ParseRecord()
    {
        var open = ExpectPunct("{", "to start a record type");
        var attributes = new List<RawAttribute>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (!AcceptPunct("}"))
        {
            var annotations = ParseAnnotations();
            var nameToken = Current;
            var name = ParseName("as an attribute name");
            if (!seen.Add(name.Name)) throw Error(nameToken, CedarErrorKind.DuplicateKey, $"duplicate attribute '{name.Name}'");
            bool required = !AcceptPunct("?");
            ExpectPunct(":", $"after attribute name '{name.Name}'");
            var type = ParseType();
            attributes.Add(new RawAttribute(name.Name, required, type, annotations, name.Pos));
            if (!AcceptPunct(","))
            {
                ExpectPunct("}", "to close the record type");
                break;
            }
        }
        return new RawRecordType(attributes, PosOf(open));
    }
}
