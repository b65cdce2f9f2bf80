using System.Runtime.InteropServices;

namespace GpuAe.Cli;

/// <summary>Ctrl-C (SIGINT) and SIGTERM (docker stop, Kubernetes, Slurm preemption) as a cancellation: the work in
/// progress finishes its step, writes a checkpoint and stops; the exit code is then the shells' 130 or 143.</summary>
public sealed class Interruption : IDisposable
{
    readonly CancellationTokenSource cancel = new();
    readonly ConsoleCancelEventHandler onCtrlC;
    readonly PosixSignalRegistration onSigterm;
    bool terminated;

    public Interruption()
    {
        onCtrlC = (_, e) => { e.Cancel = true; cancel.Cancel(); };
        Console.CancelKeyPress += onCtrlC;
        onSigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true; // not the default (exit at once): stop after the step, as for Ctrl-C
            terminated = true;
            cancel.Cancel();
        });
    }

    public CancellationToken Token => cancel.Token;

    /// <summary>0 if nothing interrupted the work, else 130 (128 + SIGINT) or 143 (128 + SIGTERM).</summary>
    public int ExitCode => !cancel.IsCancellationRequested ? 0 : terminated ? 143 : 130;

    public void Dispose()
    {
        Console.CancelKeyPress -= onCtrlC;
        onSigterm.Dispose();
        cancel.Dispose();
    }
}
