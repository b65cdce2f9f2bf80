using System.Runtime.InteropServices;
using GpuAe.Nets.Model;
using GpuAe.Nets.Training;
using GpuAe.Nets;

namespace GpuAe.Cli;

/// <summary>`gpuae train`: validates the flags, loads the data, trains (or resumes), writes metrics.csv and checkpoints.
/// Ctrl-C (SIGINT) and SIGTERM (docker stop, Kubernetes, Slurm preemption) finish the step in progress, write a
/// checkpoint and exit with 130 and 143, the shells' codes for those signals; --resume continues from it.</summary>
public sealed record TrainRun(ModelSpec Spec, TrainOptions Options, string Device, string? DataFolder, int? Limit, string OutputFolder,
    string? ResumeFolder = null, int? EpochsGiven = null, bool Quiet = false, bool Json = false)
{
    public int Execute(TextWriter stdout)
    {
        TrainingSession.Validate(Spec, Options);
        var (train, test) = Data.Load(DataFolder, Limit);
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCtrlC = (_, e) => { e.Cancel = true; cancel.Cancel(); };
        Console.CancelKeyPress += onCtrlC;
        bool terminated = false;
        using var onSigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true; // not the default (exit at once): stop after the step, as for Ctrl-C
            terminated = true;
            cancel.Cancel();
        });
        try
        {
            if (ResumeFolder is null) TrainingSession.PrepareOutput(OutputFolder);
            using var backend = Backends.Open(Device);
            ProgressBarReporter.Run(stdout, Quiet, Json, train.Count, reporter => ResumeFolder is null
                ? TrainingSession.Run(backend, Spec, Options, train, test, OutputFolder, reporter, cancel.Token)
                : TrainingSession.Resume(backend, ResumeFolder, EpochsGiven, train, test, reporter, cancel.Token));
            return !cancel.IsCancellationRequested ? 0 : terminated ? 143 : 130; // 128 + SIGTERM (15), 128 + SIGINT (2)
        }
        finally
        {
            Console.CancelKeyPress -= onCtrlC;
        }
    }
}
