using GpuAe.Kernels;
using GpuAe.Nets;
using GpuAe.Nets.Report;

namespace GpuAe.Cli;

/// <summary>`gpuae report`: validates the study's settings before anything is loaded, then trains (or reuses) its runs,
/// evaluates them and writes the report (see <see cref="ReportBuilder"/>). Ctrl-C and SIGTERM stop it after the step in
/// progress with the run's checkpoint written (<see cref="Interruption"/>); the same command again resumes the study.</summary>
public sealed record ReportRun(ReportOptions Options, string Device, string? DataFolder, int? Limit, int? TestLimit)
{
    public int Execute(TextWriter stdout)
    {
        ReportBuilder.Validate(Options);
        if (Options.Batch < 1) throw new UserError($"--batch must be at least 1 (got {Options.Batch})");
        var (train, test) = Data.Load(DataFolder, Limit, TestLimit);
        using var interruption = new Interruption();
        using var backend = Backends.Open(Device);
        try
        {
            ReportBuilder.Build(backend, train, test, Options, stdout, interruption.Token);
            return 0;
        }
        catch (OperationCanceledException) when (interruption.Token.IsCancellationRequested)
        {
            stdout.WriteLine("gpuae: report interrupted; run the same command again to resume it (finished runs are reused, the interrupted one resumes)");
            return interruption.ExitCode;
        }
    }
}
