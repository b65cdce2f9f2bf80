using GpuAe.Nets.Model;
using GpuAe.Nets.Training;
using GpuAe.Nets;

namespace GpuAe.Cli;

/// <summary>`gpuae train`: validates the flags, loads the data, trains (or resumes), writes metrics.csv and checkpoints.
/// Ctrl-C (SIGINT) and SIGTERM finish the step in progress, write a checkpoint and exit with 130 and 143
/// (<see cref="Interruption"/>); --resume continues from it.</summary>
public sealed record TrainRun(ModelSpec Spec, TrainOptions Options, string Device, string? DataFolder, int? Limit, int? TestLimit, string OutputFolder,
    string? ResumeFolder = null, int? EpochsGiven = null, bool Quiet = false, bool Json = false, int? CollapseEpochsGiven = null)
{
    public int Execute(TextWriter stdout)
    {
        TrainingSession.Validate(Spec, Options);
        var (train, test) = Data.Load(DataFolder, Limit, TestLimit);
        using var interruption = new Interruption();
        if (ResumeFolder is null) TrainingSession.PrepareOutput(OutputFolder);
        using var backend = Backends.Open(Device);
        ProgressBarReporter.Run(stdout, Quiet, Json, train.Count, reporter => ResumeFolder is null
            ? TrainingSession.Run(backend, Spec, Options, train, test, OutputFolder, reporter, interruption.Token)
            : TrainingSession.Resume(backend, ResumeFolder, EpochsGiven, train, test, reporter, interruption.Token, CollapseEpochsGiven));
        return interruption.ExitCode;
    }
}
