using GpuAe.Nets;

namespace GpuAe.Cli;

/// <summary>`gpuae train`: validates the flags, loads the data, trains, writes metrics.csv and the weights.</summary>
public sealed record TrainRun(ModelSpec Spec, TrainOptions Options, string Device, string? DataFolder, int? Limit, string OutputFolder)
{
    public int Execute(TextWriter stdout)
    {
        TrainingSession.Validate(Spec, Options);
        var (train, test) = Data.Load(DataFolder, Limit);
        TrainingSession.PrepareOutput(OutputFolder);
        using var backend = Backends.Open(Device);
        TrainingSession.Run(backend, Spec, Options, train, test, OutputFolder, stdout);
        return 0;
    }
}
