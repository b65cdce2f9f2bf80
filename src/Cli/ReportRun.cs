using GpuAe.Kernels;
using GpuAe.Nets;
using GpuAe.Nets.Report;

namespace GpuAe.Cli;

/// <summary>`gpuae report`: validates the study's settings before anything is loaded, then trains (or reuses) its runs,
/// evaluates them and writes the report (see <see cref="ReportBuilder"/>).</summary>
public sealed record ReportRun(ReportOptions Options, string Device, string? DataFolder, int? Limit)
{
    public int Execute(TextWriter stdout)
    {
        ReportBuilder.Validate(Options);
        if (Options.Batch < 1) throw new UserError($"--batch must be at least 1 (got {Options.Batch})");
        var (train, test) = Data.Load(DataFolder, Limit);
        using var backend = Backends.Open(Device);
        ReportBuilder.Build(backend, train, test, Options, stdout);
        return 0;
    }
}
