using Azure.Data.Tables;
using static Microsoft.Playwright.Assertions;

namespace RuntimeAuthz.Console.Tests;

[Collection(ConsoleCollection.Name)]
public sealed class EvidencePageTests(ConsoleFixture fixture)
{
    [Fact]
    public async Task An_auditor_verifies_a_chain_in_the_browser_and_sees_the_first_broken_record_after_tampering()
    {
        var agent = await TestAgent.RegisterAsync(fixture, "ledger-bot", "read_file");
        var session = await agent.OpenSessionAsync();
        foreach (var document in new[] { "a", "b", "c", "d" }) await agent.DecideAsync(session, "read_file", "Document", document);

        var page = await fixture.SignInAsync("ann-auditor", "auditor", $"#/evidence/{session}");
        await Expect(page.Locator("#verdict")).ToContainTextAsync($"session:{session}: OK, 5 records");
        await Expect(page.Locator("table.records tr.verified")).ToHaveCountAsync(5);

        // Someone with write access to the evidence table changes record 3, the second decision (the stored row, not the signed original).
        var table = new TableClient(fixture.Azurite.ConnectionString, "AuthzEvidence");
        var rowKey = $"session:{session}|{3:D19}";
        TableEntity? row = null;
        await foreach (var entity in table.QueryAsync<TableEntity>(e => e.RowKey == rowKey)) row = entity;
        Assert.NotNull(row);
        var body = row!.GetString("Body");
        Assert.Contains("\"resource\":\"Document::\\\"b\\\"\"", body);
        row["Body"] = body.Replace("Document::\\\"b\\\"", "Document::\\\"z\\\"", StringComparison.Ordinal);
        await table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace);

        await page.ReloadAsync();
        await Expect(page.Locator("#verdict")).ToContainTextAsync($"session:{session}: BROKEN at record 3: content does not match its hash (the record was changed)");
        var broken = page.Locator("table.records tr.broken");
        await Expect(broken).ToHaveCountAsync(1);
        await Expect(broken).ToHaveAttributeAsync("data-seq", "3");
        await Expect(page.Locator("table.records tr.verified")).ToHaveCountAsync(2);
        await Expect(page.Locator("table.records tr.unverified")).ToHaveCountAsync(2);
        await ConsoleFixture.ScreenshotAsync(page, "evidence");
    }
}
