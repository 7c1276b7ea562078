using System.Globalization;
using System.Text;
using System.Text.Json;

namespace RuntimeAuthz.Policy.Temporal;

/// <summary>One line of a Dogwood trace: an event at a timestamp (seconds), with the request scope and context.</summary>
internal sealed record TraceEvent(
    long Timestamp, int Line, EntityUid? Principal, EntityUid? Resource, string? EntitiesJson,
    RecordValue? RequestContext, string ActionType, string ActionId, string Kind, RecordValue Logged);

/// <summary>
/// Reads Dogwood's <c>.log</c> trace format: one event per non-blank line,
/// <c>@&lt;ts&gt; [scope(principal: …, resource: …)] [entities(…)] [request_context(…)] Ns::Action::"Id"::kind(field: value, …)</c>.
/// Values use Cedar's surface forms. Errors carry source:line:column.
/// </summary>
internal sealed class TraceReader
{
    private readonly string sourceName;
    private string line = "";
    private int lineNumber;
    private int pos;

    private TraceReader(string sourceName) => this.sourceName = sourceName;

    public static List<TraceEvent> Parse(string text, string sourceName = "trace.log")
    {
        var reader = new TraceReader(sourceName);
        var events = new List<TraceEvent>();
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var raw = lines[i].TrimEnd('\r');
            if (raw.Trim().Length == 0) continue;
            reader.line = raw;
            reader.lineNumber = i + 1;
            reader.pos = 0;
            events.Add(reader.ParseLine());
        }
        return events;
    }

    /// <summary>Parses one value in trace syntax (used to restore persisted event fields).</summary>
    public static Value ParseValue(string text)
    {
        var reader = new TraceReader("state") { line = text, lineNumber = 1, pos = 0 };
        var value = reader.ParseValue(0);
        reader.SkipSpaces();
        if (reader.pos < text.Length) throw reader.Error("unexpected text after the value");
        return value;
    }

    private CedarSyntaxException Error(string detail) => Error(CedarErrorKind.UnexpectedToken, detail);

    private CedarSyntaxException Error(CedarErrorKind kind, string detail) => new(kind, sourceName, lineNumber, pos + 1, detail);

    private char Cur => pos < line.Length ? line[pos] : '\0';

    private void SkipSpaces()
    {
        while (pos < line.Length && char.IsWhiteSpace(line[pos])) pos++;
    }

    private void Expect(char c, string context)
    {
        SkipSpaces();
        if (Cur != c) throw Error($"expected '{c}' {context}, found {(pos >= line.Length ? "end of line" : $"'{Cur}'")}");
        pos++;
    }

    private bool StartsWithWord(string word) =>
        string.CompareOrdinal(line, pos, word, 0, word.Length) == 0;

    private TraceEvent ParseLine()
    {
        SkipSpaces();
        if (Cur != '@') throw Error("an event line must start with '@<timestamp>'");
        pos++;
        var start = pos;
        if (Cur == '-') pos++;
        while (char.IsAsciiDigit(Cur)) pos++;
        if (!long.TryParse(line.AsSpan(start, pos - start), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var ts))
        {
            pos = start;
            throw Error("expected an integer timestamp (seconds) after '@'");
        }
        if (!char.IsWhiteSpace(Cur)) throw Error("expected whitespace after the timestamp");
        SkipSpaces();
        EntityUid? principal = null, resource = null;
        string? entitiesJson = null;
        RecordValue? requestContext = null;
        if (StartsWithWord("scope("))
        {
            pos += "scope(".Length;
            var fields = ParseFields(')', "in scope(…)");
            foreach (var (key, value) in fields)
            {
                if (value is not EntityValue e) throw Error($"scope field '{key}' must be an entity like Ns::Type::\"id\"");
                if (key == "principal") principal = e.Uid;
                else if (key == "resource") resource = e.Uid;
                else throw Error($"unknown scope field '{key}' (expected principal or resource)");
            }
            SkipSpaces();
        }
        if (StartsWithWord("entities("))
        {
            pos += "entities(".Length;
            entitiesJson = ParseEntities();
            SkipSpaces();
        }
        if (StartsWithWord("request_context("))
        {
            pos += "request_context(".Length;
            requestContext = new RecordValue(ParseFields(')', "in request_context(…)"));
            SkipSpaces();
        }
        var (actionType, actionId, kind) = ParseHead();
        Expect('(', $"after the event kind '{kind}'");
        var logged = new RecordValue(ParseFields(')', "in the event's fields"));
        SkipSpaces();
        if (pos < line.Length) throw Error($"unexpected text after the event: '{line[pos..]}'");
        return new TraceEvent(ts, lineNumber, principal, resource, entitiesJson, requestContext, actionType, actionId, kind, logged);
    }

    private (string Type, string Id, string Kind) ParseHead()
    {
        var parts = new List<string>();
        while (true)
        {
            var name = ParseIdentifier("in the event name (Ns::Action::\"Id\"::kind)");
            parts.Add(name);
            if (!(Cur == ':' && pos + 1 < line.Length && line[pos + 1] == ':')) throw Error("expected '::' in the event name (Ns::Action::\"Id\"::kind)");
            pos += 2;
            if (Cur == '"') break;
        }
        var id = ParseQuoted();
        if (!(Cur == ':' && pos + 1 < line.Length && line[pos + 1] == ':')) throw Error("expected '::kind' after the action id");
        pos += 2;
        var kind = ParseIdentifier("as the event kind");
        return (string.Join("::", parts), id, kind);
    }

    private string ParseIdentifier(string context)
    {
        var start = pos;
        while (char.IsAsciiLetterOrDigit(Cur) || Cur == '_') pos++;
        if (pos == start) throw Error($"expected a name {context}");
        return line[start..pos];
    }

    private string ParseQuoted()
    {
        if (Cur != '"') throw Error("expected '\"'");
        var start = pos;
        pos++;
        while (true)
        {
            if (pos >= line.Length) { pos = start; throw Error(CedarErrorKind.UnterminatedString, "unterminated string: missing closing '\"'"); }
            if (line[pos] == '\\') { pos += 2; continue; }
            if (line[pos] == '"') { pos++; break; }
            pos++;
        }
        var quoted = line[start..pos];
        var at = start;
        return Parsing.Lexer.Unescape(quoted, pattern: false, null, (offset, detail) => new CedarSyntaxException(CedarErrorKind.InvalidEscape, sourceName, lineNumber, at + 1, detail));
    }

    private Dictionary<string, Value> ParseFields(char close, string context)
    {
        var fields = new Dictionary<string, Value>(StringComparer.Ordinal);
        SkipSpaces();
        while (Cur != close)
        {
            if (pos >= line.Length) throw Error($"expected '{close}' to close the fields {context}");
            SkipSpaces();
            var keyStart = pos;
            var key = Cur == '"' ? ParseQuoted() : ParseIdentifier($"as a field name {context}");
            Expect(':', $"after the field '{key}'");
            SkipSpaces();
            var value = ParseValue(0);
            if (!fields.TryAdd(key, value)) { pos = keyStart; throw Error(CedarErrorKind.DuplicateKey, $"duplicate field '{key}'"); }
            SkipSpaces();
            if (Cur == ',') { pos++; SkipSpaces(); }
            else if (Cur != close) throw Error($"expected ',' or '{close}' {context}, found {(pos >= line.Length ? "end of line" : $"'{Cur}'")}");
        }
        pos++;
        return fields;
    }

    private Value ParseValue(int depth)
    {
        if (depth > 64) throw Error(CedarErrorKind.TooDeep, "value nested too deeply");
        SkipSpaces();
        var c = Cur;
        if (c == '[')
        {
            pos++;
            var items = new List<Value>();
            SkipSpaces();
            while (Cur != ']')
            {
                if (pos >= line.Length) throw Error("expected ']' to close the array");
                items.Add(ParseValue(depth + 1));
                SkipSpaces();
                if (Cur == ',') { pos++; SkipSpaces(); }
                else if (Cur != ']') throw Error($"expected ',' or ']' in the array, found '{Cur}'");
            }
            pos++;
            return new SetValue(items);
        }
        if (c == '{')
        {
            pos++;
            return new RecordValue(ParseFields('}', "in the record"));
        }
        if (c == '"') return new StringValue(ParseQuoted());
        var start = pos;
        if (c == '-' || char.IsAsciiDigit(c))
        {
            pos++;
            while (char.IsAsciiDigit(Cur) || Cur == '.') pos++;
            var number = line[start..pos];
            if (long.TryParse(number, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return LongValue.Of(l);
            if (number.Contains('.') && double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out _)) return new DecimalTextValue(number);
            pos = start;
            throw Error(CedarErrorKind.IntegerOutOfRange, $"invalid number '{number}'");
        }
        if (char.IsAsciiLetter(c) || c == '_')
        {
            var word = ParseIdentifier("");
            if (Cur == ':' && pos + 1 < line.Length && line[pos + 1] == ':')
            {
                var parts = new List<string> { word };
                while (Cur == ':' && pos + 1 < line.Length && line[pos + 1] == ':')
                {
                    pos += 2;
                    if (Cur == '"') return new EntityValue(new EntityUid(string.Join("::", parts), ParseQuoted()));
                    parts.Add(ParseIdentifier("in an entity reference"));
                }
                throw Error("expected an entity id string after '::'");
            }
            return word switch
            {
                "true" => BoolValue.True,
                "false" => BoolValue.False,
                "null" => NullValue.Instance,
                _ => new StringValue(word),
            };
        }
        throw Error($"expected a value, found {(pos >= line.Length ? "end of line" : $"'{c}'")}");
    }

    /// <summary>Parses <c>uid: { attrs } [in [parents]], …</c> into Cedar entities JSON.</summary>
    private string ParseEntities()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartArray();
            SkipSpaces();
            while (Cur != ')')
            {
                if (pos >= line.Length) throw Error("expected ')' to close entities(…)");
                if (ParseValue(0) is not EntityValue uid) throw Error("an entities entry must start with an entity uid");
                Expect(':', "after the entity uid");
                SkipSpaces();
                if (Cur != '{') throw Error("expected the entity's attribute record '{ … }'");
                var attrs = (RecordValue)ParseValue(0);
                SkipSpaces();
                var parents = new List<EntityValue>();
                if (StartsWithWord("in"))
                {
                    pos += 2;
                    SkipSpaces();
                    if (ParseValue(0) is not SetValue list) throw Error("expected a parent list 'in [ … ]'");
                    foreach (var item in list.Items)
                        parents.Add(item as EntityValue ?? throw Error("entity parents must be entity uids"));
                }
                json.WriteStartObject();
                json.WritePropertyName("uid");
                WriteUid(json, uid.Uid);
                json.WritePropertyName("attrs");
                WriteJson(json, attrs);
                json.WriteStartArray("parents");
                foreach (var parent in parents) WriteUid(json, parent.Uid);
                json.WriteEndArray();
                json.WriteEndObject();
                SkipSpaces();
                if (Cur == ',') { pos++; SkipSpaces(); }
            }
            pos++;
            json.WriteEndArray();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteUid(Utf8JsonWriter json, EntityUid uid)
    {
        json.WriteStartObject();
        json.WriteString("type", uid.Type);
        json.WriteString("id", uid.Id);
        json.WriteEndObject();
    }

    internal static void WriteJson(Utf8JsonWriter json, Value value)
    {
        switch (value)
        {
            case BoolValue b: json.WriteBooleanValue(b.Value); break;
            case LongValue l: json.WriteNumberValue(l.Value); break;
            case StringValue s: json.WriteStringValue(s.Value); break;
            case NullValue: json.WriteStringValue(""); break;
            case DecimalTextValue d:
                json.WriteStartObject();
                json.WritePropertyName("__extn");
                json.WriteStartObject();
                json.WriteString("fn", "decimal");
                json.WriteString("arg", d.Text);
                json.WriteEndObject();
                json.WriteEndObject();
                break;
            case EntityValue e:
                json.WriteStartObject();
                json.WritePropertyName("__entity");
                WriteUid(json, e.Uid);
                json.WriteEndObject();
                break;
            case SetValue set:
                json.WriteStartArray();
                foreach (var item in set.Items) WriteJson(json, item);
                json.WriteEndArray();
                break;
            case RecordValue record:
                json.WriteStartObject();
                foreach (var (key, item) in record.Attributes)
                {
                    json.WritePropertyName(key);
                    WriteJson(json, item);
                }
                json.WriteEndObject();
                break;
            default:
                json.WriteStringValue(value.ToString());
                break;
        }
    }
}
