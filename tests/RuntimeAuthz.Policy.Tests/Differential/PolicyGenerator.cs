using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace RuntimeAuthz.Policy.Tests.Differential;

/// <summary>
/// Seeded random generator of Cedar policies, entities and requests for differential testing.
/// Pools of types, ids and attribute names are small so that scopes and conditions actually match;
/// attributes are sometimes missing or of the wrong type, and arithmetic sometimes overflows, so the
/// error paths are exercised too. JSON integers stay within ±2^53 (cedar-wasm reads them as doubles).
/// </summary>
internal sealed class PolicyGenerator(int seed, bool withSchema = false)
{
    /// <summary>
    /// The schema the generated data conforms to when the generator runs with a schema. Entity
    /// references and extension values in the data are then often written in their implicit forms
    /// ({"type","id"}, plain strings, {"fn","arg"}) so the schema-directed JSON reading is compared too.
    /// </summary>
    public const string SchemaText = """
        type Info = { x?: Long, y: String };
        type Ctx = { n?: Long, s?: String, flag?: Bool, who?: User, list?: Set<Long>, ip?: ipaddr, score?: decimal, when?: datetime, rec?: Info };
        entity Group in [Group] = {
          age?: Long, level?: Long, name?: String, active?: Bool, roles?: Set<String>, owner?: User, ip?: ipaddr,
          score?: decimal, created?: datetime, ttl?: duration, info?: Info, members?: Set<User>,
        } tags String;
        entity User in [Group] = {
          age?: Long, level?: Long, name?: String, active?: Bool, roles?: Set<String>, owner?: User, ip?: ipaddr,
          score?: decimal, created?: datetime, ttl?: duration, info?: Info, members?: Set<User>,
        } tags String;
        entity Doc in [App::Folder] = {
          age?: Long, level?: Long, name?: String, active?: Bool, roles?: Set<String>, owner?: User, ip?: ipaddr,
          score?: decimal, created?: datetime, ttl?: duration, info?: Info, members?: Set<User>,
        } tags String;
        namespace App {
          entity Folder in [Folder] = {
            age?: Long, level?: Long, name?: String, active?: Bool, roles?: Set<String>, owner?: User, ip?: ipaddr,
            score?: decimal, created?: datetime, ttl?: duration, info?: Info, members?: Set<User>,
          } tags String;
        }
        action all appliesTo { principal: [User, Group], resource: [Doc, App::Folder], context: Ctx };
        action edit, delete in [all] appliesTo { principal: [User, Group], resource: [Doc, App::Folder], context: Ctx };
        action view in [all, edit] appliesTo { principal: [User, Group], resource: [Doc, App::Folder], context: Ctx };
        """;

    private enum T { Bool, Long, Str, Ent, Set, Rec, Ip, Dec, Dt, Dur }

    private readonly Random _random = new(seed);

    private static readonly string[] PrincipalTypes = ["User", "Group"];
    private static readonly string[] ResourceTypes = ["Doc", "App::Folder"];
    private static readonly string[] AllTypes = ["User", "Group", "Doc", "App::Folder"];
    private static readonly string[] Ids = ["a", "b", "c"];
    private static readonly string[] ActionIds = ["view", "edit", "delete", "all"];
    private static readonly string[] Strings = ["", "a", "ab", "abc", "a*c", "x\"y", "日本", "A", "b\\n", "tab\there", "é"];
    private static readonly string[] Patterns = ["*", "a*", "*c", "a*c", "\\*", "ab", "", "*b*", "a\\*c", "日*"];
    private static readonly string[] Ips = ["10.0.0.1", "10.0.0.0/8", "127.0.0.1", "::1", "224.0.0.1", "192.168.1.0/24", "ff02::1", "192.168.1.7", "0.0.0.0/0"];
    private static readonly string[] Decimals = ["1.5", "-0.0001", "0.0", "922337203685477.5807", "-922337203685477.5808", "2.25", "1.50"];
    private static readonly string[] Datetimes = ["2024-01-01", "2024-01-01T12:00:00Z", "2024-01-01T12:00:00.123Z", "2024-01-01T12:00:00+0100", "1970-01-01", "2025-06-30T23:59:59-0230"];
    private static readonly string[] Durations = ["1h", "-2d3h", "1d2h3m4s5ms", "0ms", "90m", "-1ms", "2562047788015h"];
    private static readonly long[] BigLongs = [long.MaxValue, long.MinValue, 9007199254740991, -9007199254740991, 4611686018427387904, 3037000500];
    private const long MaxJsonLong = 9007199254740991; // 2^53 - 1

    // Attribute names and the type each usually has (entity attributes and context).
    private static readonly (string Name, T Type)[] EntityAttributes =
        [("age", T.Long), ("level", T.Long), ("name", T.Str), ("active", T.Bool), ("roles", T.Set), ("owner", T.Ent),
         ("ip", T.Ip), ("score", T.Dec), ("created", T.Dt), ("ttl", T.Dur), ("info", T.Rec), ("members", T.Set)];
    private static readonly (string Name, T Type)[] ContextAttributes =
        [("n", T.Long), ("s", T.Str), ("flag", T.Bool), ("who", T.Ent), ("list", T.Set), ("ip", T.Ip), ("score", T.Dec), ("when", T.Dt), ("rec", T.Rec)];

    private bool Chance(double p) => _random.NextDouble() < p;
    private TItem Pick<TItem>(IReadOnlyList<TItem> items) => items[_random.Next(items.Count)];
    private static string Quote(string s) => "\"" + EscapeCedar(s) + "\"";

    private static string EscapeCedar(string s)
    {
        var b = new StringBuilder();
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': b.Append("\\\""); break;
                case '\\': b.Append("\\\\"); break;
                case '\n': b.Append("\\n"); break;
                case '\t': b.Append("\\t"); break;
                case 'é': b.Append("\\u{e9}"); break;
                default: b.Append(c); break;
            }
        }
        return b.ToString();
    }

    private static string EntityLiteral(string type, string id) => $"{type}::{Quote(id)}";

    public DifferentialCase NextCase(int index)
    {
        int count = 1 + _random.Next(5);
        var policies = new List<string>();
        for (int i = 0; i < count; i++) policies.Add(Policy());
        var principal = new EntityUid(Pick(PrincipalTypes), Chance(0.1) ? "zz" : Pick(Ids));
        var action = new EntityUid("Action", Pick(ActionIds));
        var resource = new EntityUid(Pick(ResourceTypes), Chance(0.1) ? "zz" : Pick(Ids));
        var templateIds = new HashSet<string>();
        var links = new List<(string, string, EntityUid?, EntityUid?)>();
        if (Chance(0.2))
        {
            bool principalSlot = Chance(0.7), resourceSlot = !principalSlot || Chance(0.5);
            string templateId = $"policy{policies.Count}";
            policies.Add(Template(principalSlot, resourceSlot));
            templateIds.Add(templateId);
            int linkCount = 1 + _random.Next(2);
            for (int l = 0; l < linkCount; l++)
            {
                EntityUid? p = principalSlot ? new EntityUid(Pick(AllTypes), Pick(Ids)) : null;
                EntityUid? r = resourceSlot ? new EntityUid(Pick(AllTypes), Pick(Ids)) : null;
                links.Add((templateId, $"link{l}", p, r));
            }
        }
        return new DifferentialCase(index, policies, Entities(), principal, action, resource, Context()) { TemplateIds = templateIds, Links = links, Schema = withSchema ? SchemaText : null };
    }

    // ---- policies -------------------------------------------------------------------------

    private string Policy()
    {
        var b = new StringBuilder();
        if (Chance(0.1)) b.Append("@id(\"p\") ");
        b.Append(Chance(0.7) ? "permit" : "forbid");
        b.Append(" (").Append(PrincipalOrResourceScope("principal", PrincipalTypes)).Append(", ")
         .Append(ActionScope()).Append(", ").Append(PrincipalOrResourceScope("resource", ResourceTypes)).Append(')');
        int conditions = _random.Next(3);
        for (int i = 0; i < conditions; i++)
            b.Append(Chance(0.7) ? " when { " : " unless { ").Append(Expr(T.Bool, 3)).Append(" }");
        b.Append(';');
        return b.ToString();
    }

    private string Template(bool principalSlot, bool resourceSlot)
    {
        string principal = principalSlot ? (Chance(0.5) ? "principal == ?principal" : "principal in ?principal") : PrincipalOrResourceScope("principal", PrincipalTypes);
        string resource = resourceSlot ? (Chance(0.5) ? "resource in ?resource" : $"resource is {Pick(ResourceTypes)} in ?resource") : PrincipalOrResourceScope("resource", ResourceTypes);
        string condition = Chance(0.6) ? $" when {{ {Expr(T.Bool, 2)} }}" : "";
        return $"{(Chance(0.7) ? "permit" : "forbid")} ({principal}, {ActionScope()}, {resource}){condition};";
    }

    private string PrincipalOrResourceScope(string variable, string[] types)
    {
        string type = Chance(0.9) ? Pick(types) : Pick(AllTypes);
        return _random.Next(6) switch
        {
            0 or 1 => variable,
            2 => $"{variable} == {EntityLiteral(type, Pick(Ids))}",
            3 => $"{variable} in {EntityLiteral(Chance(0.5) ? type : Pick(AllTypes), Pick(Ids))}",
            4 => $"{variable} is {type}",
            _ => $"{variable} is {type} in {EntityLiteral(Pick(AllTypes), Pick(Ids))}",
        };
    }

    private string ActionScope() => _random.Next(5) switch
    {
        0 or 1 => "action",
        2 => $"action == Action::{Quote(Pick(ActionIds))}",
        3 => $"action in Action::{Quote(Pick(ActionIds))}",
        _ => $"action in [Action::{Quote(Pick(ActionIds))}, Action::{Quote(Pick(ActionIds))}]",
    };

    // ---- expressions ----------------------------------------------------------------------

    private static readonly T[] AllExprTypes = Enum.GetValues<T>();

    private string Expr(T type, int depth)
    {
        // Now and then the "wrong" type, to provoke type errors.
        if (Chance(0.04)) type = Pick(AllExprTypes);
        if (depth <= 0 || Chance(0.25)) return Leaf(type);
        int d = depth - 1;
        return type switch
        {
            T.Bool => BoolExpr(d),
            T.Long => _random.Next(9) switch
            {
                0 => $"({Expr(T.Long, d)} + {Expr(T.Long, d)})",
                1 => $"({Expr(T.Long, d)} - {Expr(T.Long, d)})",
                2 => $"({Expr(T.Long, d)} * {Expr(T.Long, d)})",
                3 => $"(-{Expr(T.Long, d)})",
                4 => $"(if {Expr(T.Bool, d)} then {Expr(T.Long, d)} else {Expr(T.Long, d)})",
                5 => $"{Expr(T.Dur, d)}.{Pick(new[] { "toMilliseconds", "toSeconds", "toMinutes", "toHours", "toDays" })}()",
                6 => $"{Expr(T.Ent, d)}.getTag({Expr(T.Str, d)})",
                _ => Attribute(T.Long, d),
            },
            T.Str => _random.Next(4) switch
            {
                0 => $"(if {Expr(T.Bool, d)} then {Expr(T.Str, d)} else {Expr(T.Str, d)})",
                1 => $"{Expr(T.Ent, d)}.getTag({Expr(T.Str, d)})",
                _ => Attribute(T.Str, d),
            },
            T.Ent => _random.Next(3) switch
            {
                0 => $"(if {Expr(T.Bool, d)} then {Expr(T.Ent, d)} else {Expr(T.Ent, d)})",
                _ => Attribute(T.Ent, d),
            },
            T.Set => _random.Next(3) switch
            {
                0 => SetLiteral(d),
                _ => Attribute(T.Set, d),
            },
            T.Rec => _random.Next(3) switch
            {
                0 => RecordLiteral(d),
                _ => Attribute(T.Rec, d),
            },
            T.Ip => _random.Next(2) == 0 ? Attribute(T.Ip, d) : Leaf(T.Ip),
            T.Dec => _random.Next(2) == 0 ? Attribute(T.Dec, d) : Leaf(T.Dec),
            T.Dt => _random.Next(4) switch
            {
                0 => $"{Expr(T.Dt, d)}.offset({Expr(T.Dur, d)})",
                1 => $"{Expr(T.Dt, d)}.toDate()",
                _ => Attribute(T.Dt, d),
            },
            T.Dur => _random.Next(4) switch
            {
                0 => $"{Expr(T.Dt, d)}.durationSince({Expr(T.Dt, d)})",
                1 => $"{Expr(T.Dt, d)}.toTime()",
                _ => Attribute(T.Dur, d),
            },
            _ => Leaf(type),
        };
    }

    private string BoolExpr(int d)
    {
        switch (_random.Next(22))
        {
            case 0: return $"({Expr(T.Long, d)} {Pick(new[] { "<", "<=", ">", ">=" })} {Expr(T.Long, d)})";
            case 1:
                {
                    var t = Pick(AllExprTypes);
                    var u = Chance(0.8) ? t : Pick(AllExprTypes);
                    return $"({Expr(t, d)} {(Chance(0.7) ? "==" : "!=")} {Expr(u, d)})";
                }
            case 2: return $"({Expr(T.Bool, d)} && {Expr(T.Bool, d)})";
            case 3: return $"({Expr(T.Bool, d)} || {Expr(T.Bool, d)})";
            case 4: return $"!{Expr(T.Bool, d)}";
            case 5: return $"({Expr(T.Ent, d)} in {Expr(T.Ent, d)})";
            case 6: return Chance(0.5) ? $"({Expr(T.Ent, d)} in [{Expr(T.Ent, d)}, {Expr(T.Ent, d)}])" : $"({Expr(T.Ent, d)} in {EntityTarget(d)}.members)";
            case 7:
                {
                    string target = Chance(0.6) ? Expr(T.Ent, d) : Expr(T.Rec, d);
                    string attr = Chance(0.5) ? Pick(EntityAttributes).Name : Pick(ContextAttributes).Name;
                    if (Chance(0.1)) attr = Quote("x y");
                    else if (Chance(0.1)) attr += ".x";
                    return $"({target} has {attr})";
                }
            case 8: return $"({Expr(T.Str, d)} like {Quote(Pick(Patterns)).Replace("\\\\*", "\\*", StringComparison.Ordinal)})";
            case 9: return Chance(0.5) ? $"({Expr(T.Ent, d)} is {Pick(AllTypes)})" : $"({Expr(T.Ent, d)} is {Pick(AllTypes)} in {Expr(T.Ent, d)})";
            case 10: return $"{Expr(T.Set, d)}.contains({Expr(Pick(new[] { T.Long, T.Str, T.Ent }), d)})";
            case 11: return $"{Expr(T.Set, d)}.{(Chance(0.5) ? "containsAll" : "containsAny")}({Expr(T.Set, d)})";
            case 12: return $"{Expr(T.Set, d)}.isEmpty()";
            case 13: return $"{Expr(T.Ent, d)}.hasTag({Expr(T.Str, d)})";
            case 14: return $"{Expr(T.Ip, d)}.{Pick(new[] { "isIpv4", "isIpv6", "isLoopback", "isMulticast" })}()";
            case 15: return $"{Expr(T.Ip, d)}.isInRange({Expr(T.Ip, d)})";
            case 16: return $"{Expr(T.Dec, d)}.{Pick(new[] { "lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual" })}({Expr(T.Dec, d)})";
            case 17:
                {
                    var t = Chance(0.5) ? T.Dt : T.Dur;
                    return $"({Expr(t, d)} {Pick(new[] { "<", "<=", ">", ">=" })} {Expr(t, d)})";
                }
            case 18: return $"(if {Expr(T.Bool, d)} then {Expr(T.Bool, d)} else {Expr(T.Bool, d)})";
            case 19: return $"({Expr(T.Str, d)} == {Expr(T.Str, d)})";
            default: return Attribute(T.Bool, d);
        }
    }

    private string Attribute(T type, int d)
    {
        bool fromContext = Chance(0.4);
        var pool = fromContext ? ContextAttributes : EntityAttributes;
        var candidates = pool.Where(a => a.Type == type).ToArray();
        string name = candidates.Length > 0 && Chance(0.9) ? Pick(candidates).Name : Pick(pool).Name;
        if (type == T.Rec && Chance(0.3)) return $"{Attribute(T.Rec, 0)}.{(Chance(0.5) ? "x" : "y")}";
        string target = fromContext ? "context" : EntityTarget(d);
        return Chance(0.15) ? $"{target}[{Quote(name)}]" : $"{target}.{name}";
    }

    private string EntityTarget(int d) => _random.Next(6) switch
    {
        0 or 1 => "principal",
        2 or 3 => "resource",
        4 => d > 0 ? $"{EntityTarget(d - 1)}.owner" : "principal",
        _ => EntityLiteral(Pick(AllTypes), Pick(Ids)),
    };

    private string SetLiteral(int d)
    {
        var element = Pick(new[] { T.Long, T.Str, T.Ent, T.Long });
        int n = _random.Next(4);
        var items = Enumerable.Range(0, n).Select(_ => Expr(Chance(0.9) ? element : Pick(AllExprTypes), d));
        return "[" + string.Join(", ", items) + "]";
    }

    private string RecordLiteral(int d)
    {
        var fields = new List<string>();
        if (Chance(0.8)) fields.Add($"x: {Expr(T.Long, d)}");
        if (Chance(0.8)) fields.Add($"y: {Expr(T.Str, d)}");
        if (Chance(0.2)) fields.Add($"\"z w\": {Expr(T.Bool, d)}");
        return "{" + string.Join(", ", fields) + "}";
    }

    private string Leaf(T type) => type switch
    {
        T.Bool => Chance(0.5) ? "true" : Chance(0.5) ? "false" : Attribute(T.Bool, 0),
        T.Long => Chance(0.15) ? LongLiteral(Pick(BigLongs)) : Chance(0.3) ? Attribute(T.Long, 0) : LongLiteral(_random.Next(-5, 12)),
        T.Str => Chance(0.7) ? Quote(Pick(Strings)) : Attribute(T.Str, 0),
        T.Ent => _random.Next(6) switch
        {
            0 => "principal",
            1 => "resource",
            2 => "action",
            3 => $"Action::{Quote(Pick(ActionIds))}",
            _ => EntityLiteral(Pick(AllTypes), Pick(Ids)),
        },
        T.Set => Chance(0.5) ? $"[{LongLiteral(_random.Next(0, 4))}, {LongLiteral(_random.Next(0, 4))}]" : Chance(0.5) ? "[]" : Attribute(T.Set, 0),
        T.Rec => Chance(0.5) ? "{x: 1, y: \"a\"}" : "context",
        T.Ip => $"ip({Quote(Pick(Ips))})",
        T.Dec => $"decimal({Quote(Pick(Decimals))})",
        T.Dt => $"datetime({Quote(Pick(Datetimes))})",
        T.Dur => $"duration({Quote(Pick(Durations))})",
        _ => "true",
    };

    // Cedar has no negative literals: -N is negation, and -9223372036854775808 is special-cased.
    private static string LongLiteral(long value) =>
        value < 0 ? (value == long.MinValue ? "-9223372036854775808" : $"(-{(-value).ToString(CultureInfo.InvariantCulture)})") : value.ToString(CultureInfo.InvariantCulture);

    // ---- data -----------------------------------------------------------------------------

    private JsonArray Entities()
    {
        var entities = new JsonArray();
        foreach (var type in AllTypes)
        {
            foreach (var id in Ids)
            {
                if (Chance(0.15)) continue; // missing entities
                var attrs = new JsonObject();
                foreach (var (name, attrType) in EntityAttributes)
                {
                    if (Chance(0.3)) continue;
                    attrs[name] = withSchema ? SchemaValue(name, attrType) : Value(Chance(0.05) ? Pick(AllExprTypes) : attrType);
                }
                var parents = new JsonArray();
                foreach (var parentType in ParentTypesOf(type))
                {
                    foreach (var parentId in Ids)
                    {
                        // Same-type parents only to smaller ids, so the hierarchy stays acyclic (cycles are legal but rare in practice).
                        if (parentType == type && string.CompareOrdinal(parentId, id) <= 0) continue;
                        if (Chance(0.3)) parents.Add(UidJson(parentType, parentId));
                    }
                }
                var entity = new JsonObject { ["uid"] = UidJson(type, id), ["attrs"] = attrs, ["parents"] = parents };
                if (Chance(0.3))
                {
                    var tags = new JsonObject();
                    foreach (var tag in Strings.Take(4)) if (Chance(0.5)) tags[tag] = Chance(0.5) || withSchema ? Value(T.Str) : Value(T.Long);
                    entity["tags"] = tags;
                }
                entities.Add(entity);
            }
        }
        if (withSchema) return entities; // the schema supplies the action entities and their groups
        foreach (var action in ActionIds)
        {
            var parents = new JsonArray();
            if (action != "all" && Chance(0.8)) parents.Add(UidJson("Action", "all"));
            if (action == "view" && Chance(0.5)) parents.Add(UidJson("Action", "edit"));
            entities.Add(new JsonObject { ["uid"] = UidJson("Action", action), ["attrs"] = new JsonObject(), ["parents"] = parents });
        }
        return entities;
    }

    private static string[] ParentTypesOf(string type) => type switch
    {
        "User" => ["Group"],
        "Group" => ["Group"],
        "Doc" => ["App::Folder"],
        "App::Folder" => ["App::Folder"],
        _ => [],
    };

    private static JsonObject UidJson(string type, string id) => new() { ["type"] = type, ["id"] = id };

    private JsonObject Context()
    {
        var context = new JsonObject();
        foreach (var (name, type) in ContextAttributes)
        {
            if (Chance(0.2)) continue;
            context[name] = withSchema ? SchemaValue(name, type) : Value(Chance(0.05) ? Pick(AllExprTypes) : type);
        }
        return context;
    }

    private JsonNode Value(T type) => type switch
    {
        T.Bool => JsonValue.Create(Chance(0.5)),
        T.Long => JsonValue.Create(Chance(0.1) ? (Chance(0.5) ? MaxJsonLong : -MaxJsonLong) : _random.Next(-5, 12)),
        T.Str => JsonValue.Create(Pick(Strings)),
        T.Ent => new JsonObject { ["__entity"] = UidJson(Pick(AllTypes), Pick(Ids)) },
        T.Set => Chance(0.3)
            ? new JsonArray(Enumerable.Range(0, _random.Next(4)).Select(_ => (JsonNode?)Value(T.Ent)).ToArray())
            : Chance(0.5)
            ? new JsonArray(Enumerable.Range(0, _random.Next(4)).Select(_ => (JsonNode?)JsonValue.Create(Pick(Strings))).ToArray())
            : new JsonArray(Enumerable.Range(0, _random.Next(4)).Select(_ => (JsonNode?)JsonValue.Create(_random.Next(0, 4))).ToArray()),
        T.Rec => Chance(0.8)
            ? new JsonObject { ["x"] = _random.Next(-3, 4), ["y"] = Pick(Strings) }
            : new JsonObject { ["y"] = Pick(Strings) },
        T.Ip => Extension("ip", Pick(Ips)),
        T.Dec => Extension("decimal", Pick(Decimals)),
        T.Dt => Extension("datetime", Pick(Datetimes)),
        T.Dur => Extension("duration", Pick(Durations)),
        _ => JsonValue.Create(0),
    };

    /// <summary>A value of the attribute's schema type, often in an implicit JSON form.</summary>
    private JsonNode SchemaValue(string attribute, T type)
    {
        switch (type)
        {
            case T.Ent:
                return UserReference();
            case T.Set:
                int n = _random.Next(4);
                return attribute switch
                {
                    "roles" => new JsonArray(Enumerable.Range(0, n).Select(_ => (JsonNode?)JsonValue.Create(Pick(Strings))).ToArray()),
                    "list" => new JsonArray(Enumerable.Range(0, n).Select(_ => (JsonNode?)JsonValue.Create(_random.Next(0, 4))).ToArray()),
                    _ => new JsonArray(Enumerable.Range(0, n).Select(_ => (JsonNode?)UserReference()).ToArray()),
                };
            case T.Ip or T.Dec or T.Dt or T.Dur:
                var explicitForm = (JsonObject)Value(type);
                var call = (JsonObject)explicitForm["__extn"]!;
                return _random.Next(10) switch
                {
                    < 4 => JsonValue.Create(call["arg"]!.GetValue<string>()),
                    4 => new JsonObject { ["fn"] = call["fn"]!.GetValue<string>(), ["arg"] = call["arg"]!.GetValue<string>() },
                    _ => explicitForm,
                };
            default:
                return Value(type);
        }
    }

    private JsonObject UserReference() => Chance(0.5)
        ? UidJson("User", Pick(Ids))
        : new JsonObject { ["__entity"] = UidJson("User", Pick(Ids)) };

    private static JsonObject Extension(string fn, string arg) => new() { ["__extn"] = new JsonObject { ["fn"] = fn, ["arg"] = arg } };
}
