namespace RuntimeAuthz.Policy.Tests;

public class ExtensionTests
{
    [Theory]
    [InlineData("decimal(\"1.23\").lessThan(decimal(\"1.24\"))", "true")]
    [InlineData("decimal(\"-1.5\").lessThanOrEqual(decimal(\"-1.5\"))", "true")]
    [InlineData("decimal(\"10.0001\").greaterThan(decimal(\"10.0\"))", "true")]
    [InlineData("decimal(\"0.0\").greaterThanOrEqual(decimal(\"-0.0001\"))", "true")]
    [InlineData("decimal(\"922337203685477.5807\") == decimal(\"922337203685477.5807\")", "true")]
    public void DecimalParsesUpToFourDigitsAndCompares(string expression, string expected) => Cedar.Same(expected, expression);

    [Theory]
    [InlineData("decimal(\"1.23456\")", CedarErrorKind.ExtensionError)]
    [InlineData("decimal(\"1\")", CedarErrorKind.ExtensionError)]
    [InlineData("decimal(\"922337203685477.5808\")", CedarErrorKind.ExtensionError)]
    [InlineData("decimal(\"-.5\")", CedarErrorKind.ExtensionError)]
    [InlineData("decimal(\"1.0\").lessThan(1)", CedarErrorKind.TypeError)]
    public void DecimalParsesUpToFourDigitsAndCompares_Errors(string expression, CedarErrorKind kind) => Assert.Equal(kind, Cedar.Fails(expression));

    [Fact]
    public void IpAddressesAndRanges()
    {
        Cedar.True("ip(\"192.168.1.20\").isIpv4()");
        Cedar.True("ip(\"::1\").isIpv6()");
        Cedar.True("ip(\"127.0.0.1\").isLoopback()");
        Cedar.True("ip(\"::1\").isLoopback()");
        Cedar.False("ip(\"::2\").isLoopback()");
        Cedar.True("ip(\"224.0.0.1\").isMulticast()");
        Cedar.True("ip(\"ff02::1\").isMulticast()");
        Cedar.True("ip(\"10.1.2.3\").isInRange(ip(\"10.0.0.0/8\"))");
        Cedar.True("ip(\"10.1.0.0/16\").isInRange(ip(\"10.0.0.0/8\"))");
        Cedar.False("ip(\"10.0.0.0/8\").isInRange(ip(\"10.1.0.0/16\"))");
        Cedar.False("ip(\"::ffff:a01:203\").isInRange(ip(\"10.0.0.0/8\"))"); // different families never overlap
        Cedar.True("context.ip.isInRange(ip(\"10.0.0.0/8\"))");
        Cedar.True("ip(\"2001:db8::1\").isInRange(ip(\"2001:db8::/32\"))");
        foreach (var bad in new[] { "1.2.3", "01.2.3.4", "1.2.3.4/33", "1.2.3.256", "::1::2", "1:2:3:4:5:6:7:8:9", "::ffff:1.2.3.4", "1.2.3.4/08" })
            Assert.Equal(CedarErrorKind.ExtensionError, Cedar.Fails($"ip(\"{bad}\")"));
    }

    [Fact]
    public void DatetimeFormatsAndMethods()
    {
        Cedar.Same("datetime(\"2024-10-15T00:00:00Z\")", "datetime(\"2024-10-15\")");
        Cedar.Same("datetime(\"2024-10-15T10:35:00Z\")", "datetime(\"2024-10-15T11:35:00+0100\")");
        Cedar.Same("datetime(\"2024-10-15T11:35:00.123Z\")", "datetime(\"2024-10-15T12:35:00.123+0100\")");
        Cedar.Same("datetime(\"2024-10-15\")", "datetime(\"2024-10-15T11:35:00Z\").toDate()");
        Cedar.Same("duration(\"11h35m\")", "datetime(\"2024-10-15T11:35:00Z\").toTime()");
        Cedar.Same("datetime(\"1969-12-31\")", "datetime(\"1969-12-31T23:00:00Z\").toDate()");
        Cedar.Same("duration(\"23h\")", "datetime(\"1969-12-31T23:00:00Z\").toTime()");
        Cedar.Same("datetime(\"2024-10-16\")", "datetime(\"2024-10-15\").offset(duration(\"1d\"))");
        Cedar.Same("duration(\"-1d\")", "datetime(\"2024-10-15\").durationSince(datetime(\"2024-10-16\"))");
        Cedar.True("datetime(\"2024-02-29\") < datetime(\"2024-03-01\")");
        foreach (var bad in new[] { "2023-02-29", "2024-13-01", "2024-10-15T24:00:00Z", "2024-10-15T11:35:60Z", "2024-10-15 11:35:00Z", "24-10-15", "2024-10-15T11:35:00+2400", "2024-10-15T11:35Z" })
            Assert.Equal(CedarErrorKind.ExtensionError, Cedar.Fails($"datetime(\"{bad}\")"));
        Assert.Equal(CedarErrorKind.IntegerOverflow, Cedar.Fails("datetime(\"2024-10-15\").offset(duration(\"9223372036854775807ms\"))"));
    }

    [Fact]
    public void DurationUnitsAndConversions()
    {
        Cedar.Same("93784005", "duration(\"1d2h3m4s5ms\").toMilliseconds()");
        Cedar.Same("93784", "duration(\"1d2h3m4s5ms\").toSeconds()");
        Cedar.Same("1563", "duration(\"1d2h3m4s5ms\").toMinutes()");
        Cedar.Same("26", "duration(\"1d2h3m4s5ms\").toHours()");
        Cedar.Same("1", "duration(\"1d2h3m4s5ms\").toDays()");
        Cedar.Same("-1", "duration(\"-36h\").toDays()");   // truncates toward zero
        Cedar.Same("duration(\"90m\")", "duration(\"1h30m\")");
        foreach (var bad in new[] { "", "-", "1x", "1m1h", "1d1d", "h", "1.5h", "9223372036854775808ms", "1 h" })
            Assert.Equal(CedarErrorKind.ExtensionError, Cedar.Fails($"duration(\"{bad}\")"));
    }

    [Theory]
    [InlineData("ip(\"1.2.3.4\").isLoopback(1)", CedarErrorKind.WrongArity)]
    [InlineData("decimal(\"1.0\", \"2.0\")", CedarErrorKind.WrongArity)]
    [InlineData("ip(1)", CedarErrorKind.TypeError)]
    [InlineData("\"1.2.3.4\".isIpv4()", CedarErrorKind.TypeError)]
    public void ExtensionArityAndTypeMistakesAreEvaluationErrors(string expression, CedarErrorKind kind) => Assert.Equal(kind, Cedar.Fails(expression));
}
