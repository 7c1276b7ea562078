using System.CommandLine;
using System.Net;
using System.Text.Json;
using RuntimeAuthz.Cli.Infrastructure;
using RuntimeAuthz.Client;
using RuntimeAuthz.Evidence;

namespace RuntimeAuthz.Cli.Commands;

/// <summary>
/// <c>authz evidence verify|export</c>: recomputes evidence chains here, on the client, with public
/// keys only. Records come from the service (<c>GET /v1/evidence/...</c>) or, with
/// <c>--connection-string</c>, straight from the evidence table; public keys from the same source
/// unless pinned with <c>--public-key</c>.
/// </summary>
public static class EvidenceCommands
{
    public static Command Create(CommandRunner runner)
    {
        var evidence = new Command("evidence", "Verify and export signed, hash-chained authorization evidence");
        evidence.Subcommands.Add(Verify(runner));
        evidence.Subcommands.Add(Export(runner));
        return evidence;
    }

    private sealed record Sources(Option<string?> Session, Option<bool> All, Option<bool> Governance, Option<string?> ConnectionString, Option<string?> Table, Option<string[]> PublicKeys);

    private static Sources AddSources(Command command)
    {
        var sources = new Sources(
            new Option<string?>("--session") { Description = "Session id whose chain to read" },
            new Option<bool>("--all") { Description = "Every chain: all sessions and the governance chain" },
            new Option<bool>("--governance") { Description = "The governance chain (policy publishes, grants, revocations, status changes)" },
            new Option<string?>("--connection-string") { Description = "Read the evidence table directly (Azure Storage connection string) instead of the service" },
            new Option<string?>("--table") { Description = $"Evidence table with --connection-string (default {AzureTableEvidenceStore.DefaultTableName})" },
            new Option<string[]>("--public-key") { Description = "Pin trusted public keys: PEM file, or keyId=file (repeatable); default: the keys the source publishes", AllowMultipleArgumentsPerToken = false });
        command.Options.Add(sources.Session);
        command.Options.Add(sources.All);
        command.Options.Add(sources.Governance);
        command.Options.Add(sources.ConnectionString);
        command.Options.Add(sources.Table);
        command.Options.Add(sources.PublicKeys);
        return sources;
    }

    private static Command Verify(CommandRunner runner)
    {
        var command = new Command("verify", "Recompute hashes, links and signatures; name the first broken record (exit 0 when every chain verifies, 1 otherwise)");
        var sources = AddSources(command);
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var source = EvidenceSource.Create(call, sources);
            var chains = await source.ChainsAsync(call.Get(sources.Session), call.Get(sources.All), call.Get(sources.Governance), requireSelection: true, cancellationToken).ConfigureAwait(false);
            using var keys = await source.KeysAsync(call.Get(sources.PublicKeys) ?? [], cancellationToken).ConfigureAwait(false);
            var results = new List<ChainVerification>();
            foreach (var chain in chains)
            {
                var (entries, minimum) = await source.ReadAsync(chain, cancellationToken).ConfigureAwait(false);
                results.Add(EvidenceVerifier.Verify(chain, entries, keys, minimum));
            }
            if (call.Json)
            {
                Display.Json(call.Output, results.Select(r => new { chain = r.Chain, valid = r.Valid, records = r.Records, brokenRecord = r.BrokenSequence, problem = r.Problem }));
            }
            else
            {
                foreach (var result in results) call.Output.WriteLine(result.ToString());
                var broken = results.Count(r => !r.Valid);
                call.Output.WriteLine(broken == 0
                    ? $"verified {results.Count} chain(s), {results.Sum(r => r.Records)} record(s)"
                    : $"{broken} of {results.Count} chain(s) BROKEN");
            }
            return results.All(r => r.Valid) ? ExitCodes.Success : ExitCodes.Error;
        });
        return command;
    }

    private static Command Export(CommandRunner runner)
    {
        var output = new Option<string?>("--out") { Description = "Write JSON lines to this file (default: standard output)" };
        var command = new Command("export", "Write evidence records as JSON lines with their hash, signature and control tags (default: every chain)") { output };
        var sources = AddSources(command);
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var source = EvidenceSource.Create(call, sources);
            var chains = await source.ChainsAsync(call.Get(sources.Session), call.Get(sources.All), call.Get(sources.Governance), requireSelection: false, cancellationToken).ConfigureAwait(false);
            var path = call.Get(output);
            var writer = path is null ? call.Output : new StreamWriter(path, append: false);
            var count = 0;
            try
            {
                foreach (var chain in chains)
                {
                    var (entries, _) = await source.ReadAsync(chain, cancellationToken).ConfigureAwait(false);
                    foreach (var entry in entries)
                    {
                        string line;
                        try { line = EvidenceExport.ToJsonLine(entry); }
                        catch (JsonException ex) { throw new UserInputException($"record {entry.Sequence} of {chain} is not a valid record ({ex.Message}); run 'authz evidence verify'"); }
                        await writer.WriteLineAsync(line).ConfigureAwait(false);
                        count++;
                    }
                }
            }
            finally
            {
                if (path is not null) await writer.DisposeAsync().ConfigureAwait(false);
            }
            if (path is not null) call.Error.WriteLine($"exported {count} record(s) from {chains.Count} chain(s) to {path}");
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Where records and keys come from: the service's evidence endpoints or the table itself.</summary>
    private abstract class EvidenceSource
    {
        public static EvidenceSource Create(Invocation call, Sources sources) =>
            call.Get(sources.ConnectionString) is { Length: > 0 } connection
                ? new TableSource(new AzureTableEvidenceStore(connection, call.Get(sources.Table) ?? AzureTableEvidenceStore.DefaultTableName))
                : new HttpSource(call.ServiceAddress, call.Credentials);

        public async Task<IReadOnlyList<string>> ChainsAsync(string? session, bool all, bool governance, bool requireSelection, CancellationToken ct)
        {
            if (session is not null && all) throw new UserInputException("use either --session or --all");
            if (session is not null) return governance ? [EvidenceChains.ForSession(session), EvidenceChains.Governance] : [EvidenceChains.ForSession(session)];
            if (governance && !all) return [EvidenceChains.Governance];
            if (!all && requireSelection) throw new UserInputException("say which chains: --session <id>, --governance or --all");
            var chains = (await ListChainsAsync(ct).ConfigureAwait(false)).ToList();
            if (!chains.Contains(EvidenceChains.Governance)) chains.Add(EvidenceChains.Governance);
            return chains;
        }

        public async Task<EvidencePublicKeys> KeysAsync(string[] pinned, CancellationToken ct)
        {
            var keys = new EvidencePublicKeys();
            try
            {
                if (pinned.Length > 0)
                {
                    foreach (var spec in pinned)
                    {
                        var equals = spec.IndexOf('=');
                        var path = equals > 0 ? spec[(equals + 1)..] : spec;
                        if (!File.Exists(path)) throw new UserInputException($"--public-key: file '{path}' not found");
                        var pem = await File.ReadAllTextAsync(path, ct).ConfigureAwait(false);
                        using var probe = System.Security.Cryptography.ECDsa.Create();
                        try { probe.ImportFromPem(pem); }
                        catch (Exception ex) when (ex is ArgumentException or System.Security.Cryptography.CryptographicException)
                        {
                            throw new UserInputException($"--public-key: '{path}' is not a PEM ECDSA key ({ex.Message})");
                        }
                        keys.Add(equals > 0 ? spec[..equals] : EvidenceKeyIds.Derive(probe), pem);
                    }
                }
                else
                {
                    foreach (var (id, pem) in await PublishedKeysAsync(ct).ConfigureAwait(false)) keys.Add(id, pem);
                }
                return keys;
            }
            catch
            {
                keys.Dispose();
                throw;
            }
        }

        protected abstract Task<IReadOnlyList<string>> ListChainsAsync(CancellationToken ct);
        protected abstract Task<IReadOnlyDictionary<string, string>> PublishedKeysAsync(CancellationToken ct);
        /// <summary>The chain's rows, and how many records it must hold at least (the session's decision count when known).</summary>
        public abstract Task<(IReadOnlyList<EvidenceEntry> Entries, long MinimumRecords)> ReadAsync(string chain, CancellationToken ct);
    }

    private sealed class TableSource(AzureTableEvidenceStore store) : EvidenceSource
    {
        protected override Task<IReadOnlyList<string>> ListChainsAsync(CancellationToken ct) => store.ListChainsAsync(ct);
        protected override Task<IReadOnlyDictionary<string, string>> PublishedKeysAsync(CancellationToken ct) => store.ListPublicKeysAsync(ct);

        public override async Task<(IReadOnlyList<EvidenceEntry>, long)> ReadAsync(string chain, CancellationToken ct) =>
            (await store.ReadChainAsync(chain, ct).ConfigureAwait(false), 0);
    }

    private sealed class HttpSource(Uri service, IAccessTokenSource credentials) : EvidenceSource
    {
        private readonly HttpClient http = new() { BaseAddress = service, Timeout = TimeSpan.FromSeconds(60) };

        protected override async Task<IReadOnlyList<string>> ListChainsAsync(CancellationToken ct)
        {
            using var document = await GetAsync("v1/evidence/chains", ct).ConfigureAwait(false);
            return document.RootElement.GetProperty("chains").EnumerateArray().Select(c => c.GetString()!).ToArray();
        }

        protected override async Task<IReadOnlyDictionary<string, string>> PublishedKeysAsync(CancellationToken ct)
        {
            using var document = await GetAsync("v1/evidence/keys", ct).ConfigureAwait(false);
            return document.RootElement.GetProperty("keys").EnumerateArray()
                .ToDictionary(k => k.GetProperty("keyId").GetString()!, k => k.GetProperty("publicKeyPem").GetString()!, StringComparer.Ordinal);
        }

        public override async Task<(IReadOnlyList<EvidenceEntry>, long)> ReadAsync(string chain, CancellationToken ct)
        {
            var path = EvidenceChains.SessionOf(chain) is { } session
                ? $"v1/evidence/sessions/{Uri.EscapeDataString(session)}"
                : "v1/evidence/governance";
            using var document = await GetAsync(path, ct).ConfigureAwait(false);
            var root = document.RootElement;
            var entries = root.GetProperty("records").EnumerateArray().Select(r => new EvidenceEntry(
                chain, r.GetProperty("seq").GetInt64(), r.GetProperty("body").GetString()!, r.GetProperty("hash").GetString()!,
                r.GetProperty("signature").GetString()!, r.GetProperty("keyId").GetString()!)).ToArray();
            return (entries, root.TryGetProperty("minimumRecords", out var minimum) ? minimum.GetInt64() : 0);
        }

        private async Task<JsonDocument> GetAsync(string path, CancellationToken ct)
        {
            HttpResponseMessage response;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, path);
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", (await credentials.GetTokenAsync(ct).ConfigureAwait(false)).Value);
                response = await http.SendAsync(request, ct).ConfigureAwait(false);
            }
            catch (HttpRequestException ex)
            {
                throw new UserInputException($"cannot reach the authorization service at {service}: is it running? ({ex.Message})");
            }
            using (response)
            {
                var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
                if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                {
                    // The same one-line 401/403 messages as every other command.
                    throw new AuthzApiException((int)response.StatusCode, response.ReasonPhrase ?? response.StatusCode.ToString(), ProblemDetail(text), null, [], null);
                }
                if (response.StatusCode == HttpStatusCode.NotFound) throw new UserInputException($"not found: {ProblemDetail(text) ?? path}");
                if (!response.IsSuccessStatusCode) throw new UserInputException($"{(int)response.StatusCode} from {path}: {ProblemDetail(text) ?? text}");
                return JsonDocument.Parse(text);
            }
        }

        private static string? ProblemDetail(string text)
        {
            try
            {
                using var problem = JsonDocument.Parse(text);
                return problem.RootElement.TryGetProperty("detail", out var detail) ? detail.GetString() : null;
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }
}
