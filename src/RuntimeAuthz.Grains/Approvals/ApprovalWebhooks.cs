using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains.Approvals;

/// <summary>One configured receiver (<c>Approvals:Webhooks:&lt;n&gt;:Url</c> and <c>:Secret</c>).</summary>
public sealed class ApprovalWebhookTarget
{
    public string Url { get; set; } = "";
    /// <summary>Key of the HMAC-SHA256 signature (never logged).</summary>
    public string Secret { get; set; } = "";
}

/// <summary>
/// Outgoing approval events (requested, approved, rejected, expired, cancelled, consumed), one
/// queue per receiver, delivered in the background so a decision never waits for a receiver.
/// Each POST carries <c>X-RuntimeAuthz-Timestamp</c> (Unix seconds) and
/// <c>X-RuntimeAuthz-Signature: sha256=&lt;hex HMAC-SHA256(secret, timestamp + "." + body)&gt;</c>, so a
/// receiver can check the sender and refuse replays; failures are retried with back-off, then dropped (logged).
/// </summary>
public sealed class ApprovalWebhooks : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    public const string TimestampHeader = "X-RuntimeAuthz-Timestamp";
    public const string SignatureHeader = "X-RuntimeAuthz-Signature";
    public const int QueueLength = 10_000;
    public const int Attempts = 5;
    public static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(1);

    private readonly List<(ApprovalWebhookTarget Target, Channel<string> Queue)> receivers;
    private readonly TimeProvider time;
    private readonly ILogger<ApprovalWebhooks> logger;
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly CancellationTokenSource stopping = new();
    private readonly List<Task> loops = [];

    public ApprovalWebhooks(IOptions<ApprovalOptions> options, TimeProvider time, ILogger<ApprovalWebhooks> logger)
    {
        this.time = time;
        this.logger = logger;
        receivers = [.. options.Value.Webhooks.Where(w => !string.IsNullOrWhiteSpace(w.Url)).Select(w => (w, Channel.CreateBounded<string>(
            new BoundedChannelOptions(QueueLength) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true })))];
    }

    /// <summary>Queues the event for every receiver; never waits.</summary>
    public void Enqueue(string step, ApprovalInfo approval, DateTimeOffset at)
    {
        if (receivers.Count == 0) return;
        var body = new JsonObject
        {
            ["type"] = $"approval.{step}",
            ["at"] = at.ToString("O", CultureInfo.InvariantCulture),
            ["approval"] = new JsonObject
            {
                ["id"] = approval.Id, ["sessionId"] = approval.SessionId, ["agentId"] = approval.AgentId, ["status"] = approval.Status.ToString().ToLowerInvariant(),
                ["action"] = approval.Action, ["resource"] = approval.Resource, ["bindingDigest"] = approval.BindingDigest,
                ["requiredApprovals"] = approval.RequiredApprovals, ["approvals"] = approval.Approvals.Count,
                ["expiresAt"] = approval.ExpiresAt.ToString("O", CultureInfo.InvariantCulture), ["reason"] = approval.Reason,
            },
        }.ToJsonString();
        foreach (var (target, queue) in receivers)
        {
            if (!queue.Writer.TryWrite(body)) logger.LogWarning("Approval webhook queue for {Url} is closed; event {Type} dropped", target.Url, step);
        }
    }

    /// <summary>The signature header value for <paramref name="body"/> sent at <paramref name="timestamp"/>.</summary>
    public static string Sign(string secret, string timestamp, string body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp}.{body}")));

    public void Participate(ISiloLifecycle lifecycle) => lifecycle.Subscribe(nameof(ApprovalWebhooks), ServiceLifecycleStage.Active,
        _ =>
        {
            foreach (var (target, queue) in receivers) loops.Add(Task.Run(() => DeliverAsync(target, queue.Reader)));
            return Task.CompletedTask;
        },
        async _ =>
        {
            Stop();
            await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
        });

    /// <summary>Stops delivering (idempotent: a killed silo may dispose before its lifecycle stops).</summary>
    private void Stop()
    {
        foreach (var (_, queue) in receivers) queue.Writer.TryComplete();
        stopping.Cancel();
    }

    private async Task DeliverAsync(ApprovalWebhookTarget target, ChannelReader<string> queue)
    {
        try
        {
            await foreach (var body in queue.ReadAllAsync(stopping.Token))
            {
                var wait = FirstRetry;
                for (var attempt = 1; attempt <= Attempts; attempt++)
                {
                    if (await SendAsync(target, body)) break;
                    if (attempt == Attempts)
                    {
                        logger.LogError("Approval webhook {Url}: event not delivered after {Attempts} attempts; dropped", target.Url, Attempts);
                        break;
                    }
                    await Task.Delay(wait, time, stopping.Token);
                    wait *= 2;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping: what is still queued is not delivered.
        }
    }

    private async Task<bool> SendAsync(ApprovalWebhookTarget target, string body)
    {
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, target.Url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add(TimestampHeader, timestamp);
        request.Headers.Add(SignatureHeader, Sign(target.Secret, timestamp, body));
        try
        {
            using var response = await http.SendAsync(request, stopping.Token);
            if (response.IsSuccessStatusCode) return true;
            logger.LogWarning("Approval webhook {Url} answered {Status}; retrying", target.Url, (int)response.StatusCode);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !stopping.IsCancellationRequested)
        {
            logger.LogWarning("Approval webhook {Url} unreachable ({Error}); retrying", target.Url, ex.Message);
        }
        return false;
    }

    // The token source is only cancelled, never disposed: a stop after disposal must still work (it has no timer to release).
    public void Dispose()
    {
        Stop();
        http.Dispose();
    }
}
