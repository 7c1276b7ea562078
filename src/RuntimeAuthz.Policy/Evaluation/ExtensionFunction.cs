namespace RuntimeAuthz.Policy.Evaluation;

/// <summary>A Cedar extension function (constructor like <c>ip("...")</c> or method like <c>.isInRange(...)</c>).</summary>
internal sealed class ExtensionFunction
{
    private readonly Func<Value, Value>? unary;
    private readonly Func<Value, Value, Value>? binary;

    private ExtensionFunction(string name, bool isMethod, int arity, Func<Value, Value>? unary, Func<Value, Value, Value>? binary)
    {
        Name = name;
        IsMethod = isMethod;
        Arity = arity;
        this.unary = unary;
        this.binary = binary;
    }

    public string Name { get; }
    public bool IsMethod { get; }
    /// <summary>Number of arguments including the receiver for methods.</summary>
    public int Arity { get; }

    public Value Invoke1(Value a) => unary!(a);
    public Value Invoke2(Value a, Value b) => binary!(a, b);

    public static readonly IReadOnlyDictionary<string, ExtensionFunction> Constructors = new Dictionary<string, ExtensionFunction>(StringComparer.Ordinal)
    {
        ["decimal"] = Unary("decimal", false, v => DecimalValue.Parse(Str(v, "decimal")) ?? Fail("decimal", v)),
        ["ip"] = Unary("ip", false, v => IpValue.Parse(Str(v, "ip")) ?? Fail("ip", v)),
        ["datetime"] = Unary("datetime", false, v => DatetimeValue.Parse(Str(v, "datetime")) ?? Fail("datetime", v)),
        ["duration"] = Unary("duration", false, v => DurationValue.Parse(Str(v, "duration")) ?? Fail("duration", v)),
    };

    public static readonly IReadOnlyDictionary<string, ExtensionFunction> Methods = new Dictionary<string, ExtensionFunction>(StringComparer.Ordinal)
    {
        ["lessThan"] = Binary("lessThan", (a, b) => BoolValue.Of(Dec(a).Scaled < Dec(b).Scaled)),
        ["lessThanOrEqual"] = Binary("lessThanOrEqual", (a, b) => BoolValue.Of(Dec(a).Scaled <= Dec(b).Scaled)),
        ["greaterThan"] = Binary("greaterThan", (a, b) => BoolValue.Of(Dec(a).Scaled > Dec(b).Scaled)),
        ["greaterThanOrEqual"] = Binary("greaterThanOrEqual", (a, b) => BoolValue.Of(Dec(a).Scaled >= Dec(b).Scaled)),
        ["isIpv4"] = Unary("isIpv4", true, a => BoolValue.Of(!Ip(a).IsV6)),
        ["isIpv6"] = Unary("isIpv6", true, a => BoolValue.Of(Ip(a).IsV6)),
        ["isLoopback"] = Unary("isLoopback", true, a => BoolValue.Of(Ip(a).IsLoopback)),
        ["isMulticast"] = Unary("isMulticast", true, a => BoolValue.Of(Ip(a).IsMulticast)),
        ["isInRange"] = Binary("isInRange", (a, b) => BoolValue.Of(Ip(a).IsInRange(Ip(b)))),
        ["offset"] = Binary("offset", (a, b) =>
        {
            var dt = Dt(a);
            var d = Dur(b);
            return new DatetimeValue(Checked(() => checked(dt.Milliseconds + d.Milliseconds), "offset"));
        }),
        ["durationSince"] = Binary("durationSince", (a, b) =>
        {
            var x = Dt(a);
            var y = Dt(b);
            return new DurationValue(Checked(() => checked(x.Milliseconds - y.Milliseconds), "durationSince"));
        }),
        ["toDate"] = Unary("toDate", true, a =>
        {
            var ms = Dt(a).Milliseconds;
            const long day = DatetimeValue.MillisecondsPerDay;
            if (ms >= 0) return new DatetimeValue(ms / day * day);
            if (ms % day == 0) return a;
            return new DatetimeValue(Checked(() => checked((ms / day - 1) * day), "toDate"));
        }),
        ["toTime"] = Unary("toTime", true, a =>
        {
            var ms = Dt(a).Milliseconds;
            const long day = DatetimeValue.MillisecondsPerDay;
            var rem = ms % day;
            return new DurationValue(rem < 0 ? rem + day : rem);
        }),
        ["toMilliseconds"] = Unary("toMilliseconds", true, a => LongValue.Of(Dur(a).Milliseconds)),
        ["toSeconds"] = Unary("toSeconds", true, a => LongValue.Of(Dur(a).Milliseconds / 1000)),
        ["toMinutes"] = Unary("toMinutes", true, a => LongValue.Of(Dur(a).Milliseconds / 60_000)),
        ["toHours"] = Unary("toHours", true, a => LongValue.Of(Dur(a).Milliseconds / 3_600_000)),
        ["toDays"] = Unary("toDays", true, a => LongValue.Of(Dur(a).Milliseconds / 86_400_000)),
    };

    /// <summary>Constructs an extension value from its JSON <c>__extn</c> form.</summary>
    public static Value? Construct(string name, Value argument) =>
        Constructors.TryGetValue(name, out var f) ? f.Invoke1(argument) : null;

    private static ExtensionFunction Unary(string name, bool method, Func<Value, Value> f) => new(name, method, 1, f, null);
    private static ExtensionFunction Binary(string name, Func<Value, Value, Value> f) => new(name, true, 2, null, f);

    private static long Checked(Func<long> compute, string name)
    {
        try { return compute(); }
        catch (OverflowException) { throw new EvaluationException(CedarErrorKind.IntegerOverflow, $"overflow in {name}"); }
    }

    private static string Str(Value v, string fn) =>
        v is StringValue s ? s.Value : throw new EvaluationException(CedarErrorKind.TypeError, $"type error: {fn}() expects a string, got {v.TypeName}");

    private static Value Fail(string fn, Value v) =>
        throw new EvaluationException(CedarErrorKind.ExtensionError, $"extension error: {v} is not a valid {fn} literal");

    private static DecimalValue Dec(Value v) => v as DecimalValue ?? throw EvaluationException.TypeError("decimal", v);
    private static IpValue Ip(Value v) => v as IpValue ?? throw EvaluationException.TypeError("ipaddr", v);
    private static DatetimeValue Dt(Value v) => v as DatetimeValue ?? throw EvaluationException.TypeError("datetime", v);
    private static DurationValue Dur(Value v) => v as DurationValue ?? throw EvaluationException.TypeError("duration", v);
}
