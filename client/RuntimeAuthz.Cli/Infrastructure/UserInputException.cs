namespace RuntimeAuthz.Cli.Infrastructure;

/// <summary>Bad command-line input; its message is shown as is, without a stack trace.</summary>
public sealed class UserInputException(string message) : Exception(message);
