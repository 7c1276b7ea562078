using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Playwright;

namespace RuntimeAuthz.Console.Tests;

/// <summary>
/// One real silo process (the Release build beside these tests, console files included) on its own Azurite, the example
/// policy published, and Debian's chromium driven by Playwright. Shared by every test of the "console" collection.
/// </summary>
public sealed class ConsoleFixture : IAsyncLifetime
{
    /// <summary>Where the tests look for the browser first; else Debian's package path.</summary>
    public const string ChromiumVariable = "CONSOLE_TESTS_CHROMIUM";
    public const string DebianChromium = "/usr/bin/chromium";

    private IPlaywright? playwright;

    public AzuriteServer Azurite { get; private set; } = null!;
    public SiloProcess Silo { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;
    public Api Admin { get; private set; } = null!;

    public static string ScreenshotDirectory => Path.Combine(RepoPaths.Root, ".data", "console-screenshots");

    public async Task InitializeAsync()
    {
        var chromium = ChromiumPath();
        Azurite = await AzuriteServer.StartAsync();
        var logs = Directory.CreateDirectory(Path.Combine(RepoPaths.Root, ".data", "logs")).FullName;
        Silo = await SiloProcess.StartAsync(RepoPaths.Root, new SiloLaunch { StorageConnectionString = Azurite.ConnectionString },
            Path.Combine(logs, "console-tests-silo.log"));
        var index = await Silo.Http.GetAsync("console/");
        if (index.StatusCode != HttpStatusCode.OK)
            throw new InvalidOperationException($"the silo beside the tests has no console (GET /console/ answered {(int)index.StatusCode}): run `npm run build:console` before building the tests");
        Admin = await TokenAsync("console-tests-admin", "admin");
        var published = await Admin.PostAsync("v1/policies", new JsonObject { ["policies"] = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Examples, "policies.cedar")) });
        Assert.Equal(HttpStatusCode.Created, published.Status);
        // Two cores shared with the other test assemblies: the default 5 s for an expectation is too tight there.
        Assertions.SetDefaultExpectTimeout(20_000);
        playwright = await Playwright.CreateAsync();
        Browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium, Headless = true,
            // Root in CI containers: chromium's sandbox needs user namespaces it may not have there.
            Args = ["--no-sandbox"],
        });
        Directory.CreateDirectory(ScreenshotDirectory);
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        playwright?.Dispose();
        if (Silo is not null) await Silo.DisposeAsync();
        if (Azurite is not null) await Azurite.DisposeAsync();
    }

    /// <summary>A client with a development-issuer token for one role (an agent token names its agent).</summary>
    public async Task<Api> TokenAsync(string subject, string role, string? agentId = null)
    {
        var token = await Silo.DevTokenAsync(subject, [role], agentId: agentId) ?? throw new InvalidOperationException("the silo has no development issuer");
        return new Api(Silo.BaseAddress, token);
    }

    /// <summary>A new browser page (its own context: its own sessionStorage) of the console, not signed in.</summary>
    public async Task<IPage> OpenConsoleAsync(string route = "")
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync(new Uri(Silo.BaseAddress, "console/" + route).ToString());
        return page;
    }

    /// <summary>Signs in on the console's development login screen as <paramref name="subject"/> with <paramref name="role"/>.</summary>
    public async Task<IPage> SignInAsync(string subject, string role, string route = "")
    {
        var page = await OpenConsoleAsync(route);
        await page.GetByLabel("Subject").FillAsync(subject);
        await page.GetByLabel("Role").SelectOptionAsync(role);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.Locator("header .me")).ToContainTextAsync(subject);
        return page;
    }

    public static async Task ScreenshotAsync(IPage page, string name) =>
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });

    /// <summary>
    /// Debian's chromium (apt-get install chromium; .ci/run installs it), or the executable named by <see cref="ChromiumVariable"/>.
    /// Playwright's own browser downloads are never used.
    /// </summary>
    public static string ChromiumPath()
    {
        var configured = Environment.GetEnvironmentVariable(ChromiumVariable);
        var path = string.IsNullOrWhiteSpace(configured) ? DebianChromium : configured;
        if (File.Exists(path)) return path;
        var ci = Environment.GetEnvironmentVariable("CI") == "true" ? " (CI=true: .ci/run must install it)" : "";
        throw new InvalidOperationException(
            $"the console tests drive Debian's chromium, and there is none at {path}{ci}: apt-get install -y --no-install-recommends chromium, or set {ChromiumVariable} to a chromium executable");
    }
}

[CollectionDefinition(Name)]
public sealed class ConsoleCollection : ICollectionFixture<ConsoleFixture>
{
    public const string Name = "console";
}
