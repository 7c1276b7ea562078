using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;

namespace RuntimeAuthz.Enforcement;

/// <summary>
/// One agent's authorization session as an enforcement point holds it: the cluster session (opened on the
/// first call, so a front end can create one per client connection without a round trip), and the approvals
/// its calls are waiting for, so that retrying the same call waits on the same approval instead of opening another.
/// Thread-safe. Create with <see cref="AuthorizationEnforcer.CreateSession"/> or <see cref="AuthorizationEnforcer.AttachSession"/>;
/// close with <see cref="AuthorizationEnforcer.CloseSessionAsync"/>.
/// </summary>
public sealed class EnforcementSession
{
    private readonly SemaphoreSlim _opening = new(1, 1);
    private readonly ConcurrentDictionary<string, string> _pendingApprovals = new(StringComparer.Ordinal);
    private string? _sessionId;

    internal EnforcementSession(string agentId, string? sessionId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(agentId);
        AgentId = agentId;
        _sessionId = sessionId;
    }

    public string AgentId { get; }

    /// <summary>The cluster session id, null until the first call opened it.</summary>
    public string? SessionId => Volatile.Read(ref _sessionId);

    internal bool Closed { get; set; }

    internal async Task<string> EnsureOpenAsync(Func<CancellationToken, Task<string>> open, CancellationToken cancellationToken)
    {
        if (SessionId is { } existing) return existing;
        await _opening.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Closed) throw new InvalidOperationException("the authorization session is closed");
            return _sessionId ??= await open(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _opening.Release();
        }
    }

    internal string? PendingApprovalFor(string callKey) => _pendingApprovals.TryGetValue(callKey, out var id) ? id : null;

    internal void RememberApproval(string callKey, string approvalId, int limit)
    {
        if (_pendingApprovals.Count < limit) _pendingApprovals[callKey] = approvalId;
    }

    internal void ForgetApproval(string callKey) => _pendingApprovals.TryRemove(callKey, out _);

    /// <summary>
    /// The identity of a call for approval bookkeeping: action, resource, input and context in canonical form
    /// (object keys sorted), hashed; the same call retried gives the same key however its JSON was spelled.
    /// </summary>
    internal static string CallKey(GuardedCall call)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            writer.WriteStringValue(call.Action);
            writer.WriteStringValue(call.Resource.Type);
            writer.WriteStringValue(call.Resource.Id);
            WriteCanonical(writer, call.Resource.Properties);
            WriteCanonical(writer, call.Input);
            WriteCanonical(writer, call.Context);
            writer.WriteEndArray();
        }
        return Convert.ToHexStringLower(SHA256.HashData(buffer.ToArray()));
    }

    private static void WriteCanonical(Utf8JsonWriter writer, JsonElement? element)
    {
        if (element is not { } value)
        {
            writer.WriteNullValue();
            return;
        }
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var property in value.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(property.Name);
                    WriteCanonical(writer, property.Value);
                }
                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in value.EnumerateArray()) WriteCanonical(writer, item);
                writer.WriteEndArray();
                break;
            default:
                value.WriteTo(writer);
                break;
        }
    }
}
