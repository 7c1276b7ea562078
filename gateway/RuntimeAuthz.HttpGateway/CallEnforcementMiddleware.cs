namespace RuntimeAuthz.HttpGateway;

/// <summary>Placeholder until the shared enforcement core is merged: refuses every call (fail closed).</summary>
public sealed class CallEnforcementMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        _ = next;
        return GatewayProblems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "Service unavailable", "enforcement is not wired yet");
    }
}
