using System.Globalization;
using System.Xml.Linq;

namespace RuntimeAuthz.Replay.PolicyTests;

/// <summary>
/// JUnit XML, the report format CI systems read: one <c>testsuite</c> per suite file, one <c>testcase</c>
/// per case (with <c>file</c> and <c>line</c>), a <c>failure</c> saying what was expected and what was decided.
/// A suite that could not run is one failing case named after the problem.
/// </summary>
public static class JUnitReport
{
    public static XDocument Build(IReadOnlyList<SuiteResult> results)
    {
        static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture);
        var root = new XElement("testsuites",
            new XAttribute("name", "policy tests"),
            new XAttribute("tests", results.Sum(r => r.Error is null ? r.Cases.Count : 1)),
            new XAttribute("failures", results.Sum(r => r.Failed)),
            new XAttribute("time", Seconds(TimeSpan.FromTicks(results.Sum(r => r.Cases.Sum(c => c.Duration.Ticks))))));
        foreach (var suite in results)
        {
            var element = new XElement("testsuite",
                new XAttribute("name", suite.File),
                new XAttribute("tests", suite.Error is null ? suite.Cases.Count : 1),
                new XAttribute("failures", suite.Failed),
                new XAttribute("errors", 0),
                new XAttribute("time", Seconds(TimeSpan.FromTicks(suite.Cases.Sum(c => c.Duration.Ticks)))));
            if (suite.Error is { } error)
            {
                element.Add(new XElement("testcase", new XAttribute("name", "suite"), new XAttribute("classname", suite.File),
                    new XAttribute("file", error.Location.File), new XAttribute("line", error.Location.Line),
                    new XElement("failure", new XAttribute("message", error.Problem), error.Message)));
            }
            foreach (var result in suite.Cases)
            {
                var testCase = new XElement("testcase", new XAttribute("name", result.Name), new XAttribute("classname", suite.File),
                    new XAttribute("file", result.Location.File), new XAttribute("line", result.Location.Line), new XAttribute("time", Seconds(result.Duration)));
                if (result.Failure is { } failure)
                    testCase.Add(new XElement("failure", new XAttribute("message", failure), $"{result.Location}: {failure}"));
                element.Add(testCase);
            }
            root.Add(element);
        }
        return new XDocument(new XDeclaration("1.0", "utf-8", null), root);
    }
}
