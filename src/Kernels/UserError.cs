namespace GpuAe.Kernels;

/// <summary>A problem the user can fix (bad flag, missing data, no such device). The CLI prints the message as
/// one line, without a stack trace, and exits with code 2.</summary>
public sealed class UserError(string message) : Exception(message);
