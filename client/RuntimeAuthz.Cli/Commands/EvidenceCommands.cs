using System.CommandLine;
using System.Net;
using System.Text.Json;
using RuntimeAuthz.Cli.Infrastructure;
using RuntimeAuthz.Client;
using RuntimeAuthz.Evidence;
using RuntimeAuthz.Evidence.Checkpoints;

namespace RuntimeAuthz.Cli.Commands;

/// <summary>
/// <c>authz evidence verify|export</c>: recomputes evidence chains here, on the client, with public
/// keys only, and checks them against the signed checkpoints of their heads. Records and checkpoints
/// come from the service (<c>GET /v1/evidence/...</c>), with <c>--connection-string</c> straight from
/// the evidence table (checkpoints with <c>--checkpoint-connection-string</c>), or with <c>--file</c>
/// from an export; public keys from the service or table unless pinned with <c>--public-key</c>.
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

    private sealed record Sources(Option<string?> Session, Option<bool> All, Option<bool> Governance, Option<string?> ConnectionString, Option<string?> Table, Option<string[]> PublicKeys)
    {
        public Option<string?> CheckpointConnectionString { get; } = new("--checkpoint-connection-string") { Description = "With --connection-string: the checkpoint store's connection string (the silo's Evidence:Checkpoints:ConnectionString)" };
        public Option<string?> CheckpointTable { get; } = new("--checkpoint-table") { Description = $"Checkpoint table with --checkpoint-connection-string (default {AzureTableCheckpointStore.DefaultTableName})" };
        /// <summary>Only for verify: an export file as the source of records and checkpoints.</summary>
        public Option<string?> File { get; } = new("--file") { Description = "Verify an export file (from 'authz evidence export'); keys from --public-key, or else from the service or --connection-string" };
    }

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
        command.Options.Add(sources.CheckpointConnectionString);
        command.Options.Add(sources.CheckpointTable);
        return sources;
    }

    private static Command Verify(CommandRunner runner)
    {
        var command = new Command("verify",
            "Recompute hashes, links and signatures and check each chain against the signed checkpoints of its heads; " +
            "name the first broken record or the missing range (exit 0 when every chain and checkpoint chain verifies, 1 otherwise)");
        var sources = AddSources(command);
        command.Options.Add(sources.File);
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var source = await EvidenceSource.CreateAsync(call, sources, cancellationToken).ConfigureAwait(false);
            using var keys = await source.KeysAsync(call.Get(sources.PublicKeys) ?? [], cancellationToken).ConfigureAwait(false);
            var checkpoints = await source.CheckpointsAsync(cancellationToken).ConfigureAwait(false);
            var seals = checkpoints is null ? CheckpointSeals.None : CheckpointVerifier.Verify(checkpoints, keys);
            var chains = await source.ChainsAsync(call.Get(sources.Session), call.Get(sources.All), call.Get(sources.Governance), requireSelection: source is not FileSource, cancellationToken).ConfigureAwait(false);
            // A chain deleted entirely (or a session whose state is gone) is still sealed: it is verified too, as empty.
            var onlySealed = call.Get(sources.Session) is null && !call.Get(sources.Governance)
                ? seals.Chains.Keys.Except(chains, StringComparer.Ordinal).ToHashSet(StringComparer.Ordinal) : [];
            var results = new List<ChainVerification>();
            foreach (var chain in chains.Concat(onlySealed).Order(StringComparer.Ordinal))
            {
                IReadOnlyList<EvidenceEntry> entries;
                long minimum;
                try { (entries, minimum) = await source.ReadAsync(chain, cancellationToken).ConfigureAwait(false); }
                catch (UserInputException) when (onlySealed.Contains(chain)) { (entries, minimum) = ([], 0); }
                results.Add(CheckpointVerifier.VerifyChain(chain, entries, keys, seals, minimum));
            }
            if (call.Json)
            {
                Display.Json(call.Output, results.Select(r => new { chain = r.Chain, valid = r.Valid, records = r.Records, brokenRecord = r.BrokenSequence, problem = r.Problem })
                    .Concat(seals.Writers.Select(w => new { chain = w.Name, valid = w.Valid, records = w.Checkpoints, brokenRecord = w.BrokenSequence, problem = w.Problem })));
            }
            else
            {
                foreach (var result in results) call.Output.WriteLine(result.ToString());
                foreach (var writer in seals.Writers) call.Output.WriteLine(writer.ToString());
                var broken = results.Count(r => !r.Valid) + seals.Writers.Count(w => !w.Valid);
                call.Output.WriteLine(broken == 0
                    ? $"verified {results.Count} chain(s), {results.Sum(r => r.Records)} record(s), against {seals.Writers.Sum(w => w.Checkpoints)} checkpoint(s)"
                    : $"{broken} of {results.Count + seals.Writers.Count} chain(s) BROKEN");
                if (checkpoints is null || checkpoints.Count == 0)
                    call.Error.WriteLine("note: no checkpoints: each chain was checked on its own, so records missing from its end cannot be detected");
            }
            return results.All(r => r.Valid) && seals.Valid ? ExitCodes.Success : ExitCodes.Error;
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
            var source = await EvidenceSource.CreateAsync(call, sources, cancellationToken).ConfigureAwait(false);
            var chains = await source.ChainsAsync(call.Get(sources.Session), call.Get(sources.All), call.Get(sources.Governance), requireSelection: false, cancellationToken).ConfigureAwait(false);
            var path = call.Get(output);
            var checkpointCount = 0;
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
                // Every checkpoint, whatever was selected: a checkpoint chain verifies only as a whole.
                foreach (var checkpoint in (await source.CheckpointsAsync(cancellationToken).ConfigureAwait(false) ?? []).OrderBy(c => c.Writer, StringComparer.Ordinal).ThenBy(c => c.Sequence))
                {
                    await writer.WriteLineAsync(CheckpointExport.ToJsonLine(checkpoint)).ConfigureAwait(false);
                    checkpointCount++;
                }
            }
            finally
            {
                if (path is not null) await writer.DisposeAsync().ConfigureAwait(false);
            }
            if (path is not null) call.Error.WriteLine($"exported {count} record(s) from {chains.Count} chain(s) and {checkpointCount} checkpoint(s) to {path}");
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Where records and keys come from: the service's evidence endpoints or the table itself.</summary>
    private abstract class EvidenceSource
    {
        public static async Task<EvidenceSource> CreateAsync(Invocation call, Sources sources, CancellationToken ct)
        {
            if (call.Get(sources.CheckpointConnectionString) is { Length: > 0 } && call.Get(sources.ConnectionString) is not { Length: > 0 })
                throw new UserInputException("--checkpoint-connection-string goes with --connection-string (the service finds its checkpoints itself)");
            EvidenceSource service = call.Get(sources.ConnectionString) is { Length: > 0 } connection
                ? new TableSource(
                    Table(() => new AzureTableEvidenceStore(connection, call.Get(sources.Table) ?? AzureTableEvidenceStore.DefaultTableName), "--connection-string"),
                    call.Get(sources.CheckpointConnectionString) is { Length: > 0 } checkpoints
                        ? Table(() => new AzureTableCheckpointStore(checkpoints, call.Get(sources.CheckpointTable) ?? AzureTableCheckpointStore.DefaultTableName), "--checkpoint-connection-string")
                        : null)
                : new HttpSource(call.ServiceAddress, call.Credentials);
            return call.Get(sources.File) is { } file ? await FileSource.ReadAsync(file, service, ct).ConfigureAwait(false) : service;
        }

        private static T Table<T>(Func<T> create, string option)
        {
            try { return create(); }
            catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException)
            {
                throw new UserInputException($"{option}: not an Azure Storage connection string or table name ({ex.GetType().Name})");
            }
        }

        /// <summary>Every checkpoint the source holds; null when it has no checkpoint store.</summary>
        public abstract Task<IReadOnlyList<CheckpointEntry>?> CheckpointsAsync(CancellationToken ct);

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

        protected internal abstract Task<IReadOnlyList<string>> ListChainsAsync(CancellationToken ct);
        protected internal abstract Task<IReadOnlyDictionary<string, string>> PublishedKeysAsync(CancellationToken ct);
        /// <summary>The chain's rows, and how many records it must hold at least (the session's decision count when known).</summary>
        public abstract Task<(IReadOnlyList<EvidenceEntry> Entries, long MinimumRecords)> ReadAsync(string chain, CancellationToken ct);
    }

    private sealed class TableSource(AzureTableEvidenceStore store, AzureTableCheckpointStore? checkpoints) : EvidenceSource
    {
        protected internal override Task<IReadOnlyList<string>> ListChainsAsync(CancellationToken ct) => store.ListChainsAsync(ct);
        protected internal override Task<IReadOnlyDictionary<string, string>> PublishedKeysAsync(CancellationToken ct) => store.ListPublicKeysAsync(ct);

        public override async Task<IReadOnlyList<CheckpointEntry>?> CheckpointsAsync(CancellationToken ct) =>
            checkpoints is null ? null : await checkpoints.ReadAllAsync(ct).ConfigureAwait(false);

        public override async Task<(IReadOnlyList<EvidenceEntry>, long)> ReadAsync(string chain, CancellationToken ct) =>
            (await store.ReadChainAsync(chain, ct).ConfigureAwait(false), 0);
    }

    private sealed class HttpSource(Uri service, IAccessTokenSource credentials) : EvidenceSource
    {
        private readonly HttpClient http = new() { BaseAddress = service, Timeout = TimeSpan.FromSeconds(60) };

        protected internal override async Task<IReadOnlyList<string>> ListChainsAsync(CancellationToken ct)
        {
            using var document = await GetAsync("v1/evidence/chains", ct).ConfigureAwait(false);
            return document.RootElement.GetProperty("chains").EnumerateArray().Select(c => c.GetString()!).ToArray();
        }

        protected internal override async Task<IReadOnlyDictionary<string, string>> PublishedKeysAsync(CancellationToken ct)
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
                r.GetProperty("signature").GetString()!, r.GetProperty("keyId").GetString()!)
            {
                Proof = r.TryGetProperty("proof", out var proof) && proof.ValueKind == JsonValueKind.String ? proof.GetString() : null,
            }).ToArray();
            return (entries, root.TryGetProperty("minimumRecords", out var minimum) ? minimum.GetInt64() : 0);
        }

        public override async Task<IReadOnlyList<CheckpointEntry>?> CheckpointsAsync(CancellationToken ct)
        {
            using var document = await GetAsync("v1/evidence/checkpoints", ct).ConfigureAwait(false);
            var root = document.RootElement;
            if (!root.GetProperty("configured").GetBoolean()) return null;
            return root.GetProperty("checkpoints").EnumerateArray().Select(c => new CheckpointEntry(
                c.GetProperty("writer").GetString()!, c.GetProperty("seq").GetInt64(), c.GetProperty("body").GetString()!,
                c.GetProperty("hash").GetString()!, c.GetProperty("signature").GetString()!, c.GetProperty("keyId").GetString()!)).ToArray();
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

    /// <summary>An export file: its records and checkpoints; public keys from the service or table unless pinned.</summary>
    private sealed class FileSource(string path, ExportContents contents, EvidenceSource keys) : EvidenceSource
    {
        public static async Task<FileSource> ReadAsync(string path, EvidenceSource keys, CancellationToken ct)
        {
            if (!System.IO.File.Exists(path)) throw new UserInputException($"--file: '{path}' not found");
            try
            {
                return new FileSource(path, CheckpointExport.Read(await System.IO.File.ReadAllLinesAsync(path, ct).ConfigureAwait(false)), keys);
            }
            catch (FormatException ex)
            {
                throw new UserInputException($"--file: '{path}': {ex.Message}");
            }
        }

        protected internal override Task<IReadOnlyList<string>> ListChainsAsync(CancellationToken ct) =>
            Task.FromResult<IReadOnlyList<string>>([.. contents.Chains.Keys.Order(StringComparer.Ordinal)]);

        protected internal override Task<IReadOnlyDictionary<string, string>> PublishedKeysAsync(CancellationToken ct) => keys.PublishedKeysAsync(ct);

        public override Task<IReadOnlyList<CheckpointEntry>?> CheckpointsAsync(CancellationToken ct) =>
            Task.FromResult<IReadOnlyList<CheckpointEntry>?>(contents.Checkpoints.Count == 0 ? null : contents.Checkpoints);

        private readonly HashSet<string> sealedChains = [.. contents.Checkpoints.SelectMany(c => CheckpointSealer.ParseBody(c.Body).Heads.Select(h => h.Chain))];

        /// <summary>A chain neither in the file nor sealed by its checkpoints was not exported (the governance chain may be empty).</summary>
        public override Task<(IReadOnlyList<EvidenceEntry> Entries, long MinimumRecords)> ReadAsync(string chain, CancellationToken ct) =>
            contents.Chains.TryGetValue(chain, out var entries) || sealedChains.Contains(chain) || chain == EvidenceChains.Governance
                ? Task.FromResult<(IReadOnlyList<EvidenceEntry>, long)>((entries ?? [], 0))
                : throw new UserInputException($"{chain} is not in '{path}'");
    }
}
