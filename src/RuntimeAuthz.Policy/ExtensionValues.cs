using System.Globalization;
using System.Numerics;
using System.Text;

namespace RuntimeAuthz.Policy;

/// <summary>Cedar <c>decimal</c>: a fixed-point number with four fractional digits, stored scaled by 10^4.</summary>
internal sealed class DecimalValue(long scaled) : Value
{
    public long Scaled { get; } = scaled;
    public override ValueKind Kind => ValueKind.Decimal;
    public override string TypeName => "decimal";
    public override bool Equals(Value? other) => other is DecimalValue d && d.Scaled == Scaled;
    public override int GetHashCode() => HashCode.Combine(7, Scaled);

    public override void Write(StringBuilder builder)
    {
        var magnitude = Scaled < 0 ? -(Int128)Scaled : Scaled;
        builder.Append("decimal(\"").Append(Scaled < 0 ? "-" : "")
            .Append((magnitude / 10000).ToString(CultureInfo.InvariantCulture)).Append('.')
            .Append((magnitude % 10000).ToString("D4", CultureInfo.InvariantCulture)).Append("\")");
    }

    /// <summary>"&lt;-&gt;digits.digits" with 1 to 4 fractional digits; null when malformed or out of range.</summary>
    public static DecimalValue? Parse(string text)
    {
        var dot = text.IndexOf('.');
        if (dot < 0 || text.IndexOf('.', dot + 1) >= 0) return null;
        var left = text.AsSpan(0, dot);
        var right = text.AsSpan(dot + 1);
        if (right.Length is < 1 or > 4 || !AllDigits(right)) return null;
        var negative = left.StartsWith("-");
        var leftDigits = negative ? left[1..] : left;
        if (leftDigits.Length == 0 || !AllDigits(leftDigits)) return null;
        var whole = BigInteger.Parse(leftDigits, NumberStyles.None, CultureInfo.InvariantCulture);
        var fraction = BigInteger.Parse(right, NumberStyles.None, CultureInfo.InvariantCulture);
        for (var i = right.Length; i < 4; i++) fraction *= 10;
        var magnitude = whole * 10000 + fraction;
        var scaled = negative ? -magnitude : magnitude;
        if (scaled < long.MinValue || scaled > long.MaxValue) return null;
        return new DecimalValue((long)scaled);
    }

    internal static bool AllDigits(ReadOnlySpan<char> text)
    {
        foreach (var ch in text)
            if (ch is < '0' or > '9') return false;
        return true;
    }
}

/// <summary>Cedar <c>ipaddr</c>: an IPv4 or IPv6 address with a prefix length (the host bits are kept).</summary>
internal sealed class IpValue(bool isV6, UInt128 address, int prefix) : Value
{
    public bool IsV6 { get; } = isV6;
    public UInt128 Address { get; } = address;
    public int Prefix { get; } = prefix;
    private int Width => IsV6 ? 128 : 32;

    public override ValueKind Kind => ValueKind.IpAddr;
    public override string TypeName => "ipaddr";
    public override bool Equals(Value? other) => other is IpValue ip && ip.IsV6 == IsV6 && ip.Address == Address && ip.Prefix == Prefix;
    public override int GetHashCode() => HashCode.Combine(IsV6, Address, Prefix);

    public (UInt128 Low, UInt128 High) Range
    {
        get
        {
            var hostBits = Width - Prefix;
            var low = hostBits >= 128 ? UInt128.Zero : (Address >> hostBits) << hostBits;
            var span = hostBits >= 128 ? UInt128.MaxValue : (UInt128.One << hostBits) - 1;
            return (low, low + span);
        }
    }

    public bool IsInRange(IpValue other)
    {
        if (other.IsV6 != IsV6) return false;
        var mine = Range;
        var theirs = other.Range;
        return theirs.High >= mine.High && mine.Low >= theirs.Low;
    }

    private static readonly IpValue LoopbackV4 = new(false, 0x7F000000u, 8);
    private static readonly IpValue LoopbackV6 = new(true, UInt128.One, 128);
    private static readonly IpValue MulticastV4 = new(false, 0xE0000000u, 4);
    private static readonly IpValue MulticastV6 = new(true, new UInt128(0xFF00_0000_0000_0000ul, 0), 8);

    public bool IsLoopback => IsInRange(IsV6 ? LoopbackV6 : LoopbackV4);
    public bool IsMulticast => IsInRange(IsV6 ? MulticastV6 : MulticastV4);

    public override void Write(StringBuilder builder)
    {
        builder.Append("ip(\"");
        if (IsV6)
        {
            for (var i = 7; i >= 0; i--)
            {
                builder.Append(((ushort)(Address >> (i * 16))).ToString("x", CultureInfo.InvariantCulture));
                if (i > 0) builder.Append(':');
            }
        }
        else
        {
            var v = (uint)Address;
            builder.Append(v >> 24).Append('.').Append((v >> 16) & 0xFF).Append('.').Append((v >> 8) & 0xFF).Append('.').Append(v & 0xFF);
        }
        builder.Append('/').Append(Prefix).Append("\")");
    }

    public static IpValue? Parse(string text) => ParseV4(text) ?? ParseV6(text);

    private static bool TryParsePrefix(string[] slashParts, int maxDigits, int width, out int prefix)
    {
        prefix = width;
        if (slashParts.Length == 1) return true;
        if (slashParts.Length != 2) return false;
        var p = slashParts[1];
        if (p.Length == 0 || p.Length > maxDigits || !DecimalValue.AllDigits(p) || (p.StartsWith('0') && p != "0")) return false;
        prefix = int.Parse(p, CultureInfo.InvariantCulture);
        return prefix <= width;
    }

    private static IpValue? ParseV4(string text)
    {
        var slashParts = text.Split('/');
        if (!TryParsePrefix(slashParts, 2, 32, out var prefix)) return null;
        var segments = slashParts[0].Split('.');
        if (segments.Length != 4) return null;
        uint address = 0;
        foreach (var segment in segments)
        {
            if (segment.Length is 0 or > 3 || !DecimalValue.AllDigits(segment) || (segment.StartsWith('0') && segment != "0")) return null;
            var n = int.Parse(segment, CultureInfo.InvariantCulture);
            if (n > 255) return null;
            address = (address << 8) | (uint)n;
        }
        return new IpValue(false, address, prefix);
    }

    private static IpValue? ParseV6(string text)
    {
        var slashParts = text.Split('/');
        if (!TryParsePrefix(slashParts, 3, 128, out var prefix)) return null;
        var halves = slashParts[0].Split("::");
        List<ushort>? groups;
        if (halves.Length == 1)
        {
            groups = ParseGroups(halves[0]);
            if (groups is null || groups.Count != 8) return null;
        }
        else if (halves.Length == 2)
        {
            var head = ParseGroups(halves[0]);
            var tail = ParseGroups(halves[1]);
            if (head is null || tail is null || head.Count + tail.Count >= 8) return null;
            groups = [.. head, .. Enumerable.Repeat((ushort)0, 8 - head.Count - tail.Count), .. tail];
        }
        else return null;
        UInt128 address = 0;
        foreach (var g in groups) address = (address << 16) | g;
        return new IpValue(true, address, prefix);
    }

    private static List<ushort>? ParseGroups(string text)
    {
        var result = new List<ushort>();
        if (text.Length == 0) return result;
        foreach (var part in text.Split(':'))
        {
            if (part.Length is 0 or > 4 || !part.All(Uri.IsHexDigit)) return null;
            result.Add(ushort.Parse(part, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
        }
        return result;
    }
}

/// <summary>Cedar <c>datetime</c>: milliseconds since the Unix epoch (UTC).</summary>
internal sealed class DatetimeValue(long milliseconds) : Value
{
    public const long MillisecondsPerDay = 86_400_000;
    public long Milliseconds { get; } = milliseconds;
    public override ValueKind Kind => ValueKind.Datetime;
    public override string TypeName => "datetime";
    public override bool Equals(Value? other) => other is DatetimeValue d && d.Milliseconds == Milliseconds;
    public override int GetHashCode() => HashCode.Combine(11, Milliseconds);
    public override void Write(StringBuilder builder) => builder.Append("datetime(").Append(Milliseconds).Append(')');

    /// <summary>
    /// Accepts YYYY-MM-DD, YYYY-MM-DDThh:mm:ssZ, YYYY-MM-DDThh:mm:ss.SSSZ, YYYY-MM-DDThh:mm:ss(+|-)hhmm and
    /// YYYY-MM-DDThh:mm:ss.SSS(+|-)hhmm; leap seconds are rejected.
    /// </summary>
    public static DatetimeValue? Parse(string s)
    {
        if (s.Length is not (10 or 20 or 24 or 28)) return null;
        if (!TryDigits(s, 0, 4, out var year) || s[4] != '-' || !TryDigits(s, 5, 2, out var month) || s[7] != '-' || !TryDigits(s, 8, 2, out var day))
            return null;
        if (month is < 1 or > 12 || day < 1 || day > DaysInMonth(year, month)) return null;
        long dayNumber = DaysFromCivil(year, month, day);
        if (s.Length == 10) return new DatetimeValue(dayNumber * MillisecondsPerDay);
        if (s[10] != 'T' || !TryDigits(s, 11, 2, out var hour) || s[13] != ':' || !TryDigits(s, 14, 2, out var minute) || s[16] != ':' || !TryDigits(s, 17, 2, out var second))
            return null;
        if (hour > 23 || minute > 59 || second > 59) return null;
        var index = 19;
        var millis = 0;
        if (s[index] == '.')
        {
            if (!TryDigits(s, index + 1, 3, out millis)) return null;
            index += 4;
        }
        long offsetMillis;
        if (s[index] == 'Z')
        {
            if (index + 1 != s.Length) return null;
            offsetMillis = 0;
        }
        else if (s[index] is '+' or '-')
        {
            if (index + 5 != s.Length || !TryDigits(s, index + 1, 2, out var offH) || !TryDigits(s, index + 3, 2, out var offM)) return null;
            if (offH > 23 || offM > 59) return null;
            offsetMillis = (offH * 3600L + offM * 60L) * 1000L * (s[index] == '-' ? -1 : 1);
        }
        else return null;
        var local = dayNumber * MillisecondsPerDay + ((hour * 60L + minute) * 60L + second) * 1000L + millis;
        return new DatetimeValue(local - offsetMillis);
    }

    private static bool TryDigits(string s, int start, int count, out int value)
    {
        value = 0;
        if (start + count > s.Length) return false;
        for (var i = start; i < start + count; i++)
        {
            var ch = s[i];
            if (ch is < '0' or > '9') return false;
            value = value * 10 + (ch - '0');
        }
        return true;
    }

    private static bool IsLeap(int y) => y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);

    private static int DaysInMonth(int y, int m) => m switch
    {
        2 => IsLeap(y) ? 29 : 28,
        4 or 6 or 9 or 11 => 30,
        _ => 31,
    };

    // Days since 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's civil algorithm).
    private static long DaysFromCivil(int y, int m, int d)
    {
        y -= m <= 2 ? 1 : 0;
        var era = (y >= 0 ? y : y - 399) / 400;
        var yearOfEra = y - era * 400;
        var dayOfYear = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        var dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear;
        return era * 146097L + dayOfEra - 719468;
    }
}

/// <summary>Cedar <c>duration</c>: a signed number of milliseconds.</summary>
internal sealed class DurationValue(long milliseconds) : Value
{
    public long Milliseconds { get; } = milliseconds;
    public override ValueKind Kind => ValueKind.Duration;
    public override string TypeName => "duration";
    public override bool Equals(Value? other) => other is DurationValue d && d.Milliseconds == Milliseconds;
    public override int GetHashCode() => HashCode.Combine(13, Milliseconds);
    public override void Write(StringBuilder builder) => builder.Append("duration(\"").Append(Milliseconds).Append("ms\")");

    private static readonly (string Suffix, long Factor)[] Units =
        [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)];

    /// <summary>Quantity-unit pairs from largest to smallest unit (d, h, m, s, ms), optionally led by '-'.</summary>
    public static DurationValue? Parse(string text)
    {
        var negative = text.StartsWith('-');
        var rest = negative ? text[1..] : text;
        if (rest.Length == 0) return null;
        Int128 total = 0;
        // Peel units off the end, smallest first, so the order constraint falls out naturally.
        foreach (var (suffix, factor) in Units)
        {
            if (!rest.EndsWith(suffix, StringComparison.Ordinal)) continue;
            var body = rest[..^suffix.Length];
            var start = body.Length;
            while (start > 0 && body[start - 1] is >= '0' and <= '9') start--;
            if (start == body.Length) return null;
            var digits = body[start..];
            if (!Int128.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var quantity) || quantity > long.MaxValue)
                return null;
            total += quantity * factor;
            rest = body[..start];
        }
        if (rest.Length != 0 || total > long.MaxValue) return null;
        var value = (long)total;
        return new DurationValue(negative ? -value : value);
    }
}
