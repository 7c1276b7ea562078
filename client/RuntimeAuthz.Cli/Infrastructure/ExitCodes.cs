namespace RuntimeAuthz.Cli.Infrastructure;

/// <summary>Process exit codes; <c>check</c> maps decisions onto them so scripts can branch.</summary>
public static class ExitCodes
{
    public const int Success = 0;
    public const int Error = 1;
    public const int Deny = 2;
    public const int ApprovalRequired = 3;
}
