using System.Text;
using Xunit.Abstractions;

namespace RuntimeAuthz.Chaos.Tests;

/// <summary>Lines written by the harness appear in the test's output (dotnet test shows them with -v normal or on failure).</summary>
internal sealed class TestOutputWriter(ITestOutputHelper output) : TextWriter
{
    private readonly StringBuilder line = new();

    public override Encoding Encoding => Encoding.UTF8;

    public override void Write(char value)
    {
        if (value == '\n') { output.WriteLine(line.ToString()); line.Clear(); }
        else if (value != '\r') line.Append(value);
    }

    public override void WriteLine(string? value)
    {
        output.WriteLine(line.Append(value).ToString());
        line.Clear();
    }
}
