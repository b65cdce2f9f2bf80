using ILGPU.Runtime;

namespace GpuAe.Kernels;

// Optional abilities of a backend beyond IBackend, asked for with `as`: models, the trainer and the diagnostics never
// name a concrete backend. Whether one is on is decided when the backend is opened, never flipped later.

/// <summary>A hook after every launch and device-timed markers between them (the per-operation timeline).</summary>
public interface ILaunchTimeline
{
    /// <summary>Called with the operation's name and sizes after every operation that launches work; null costs a test.</summary>
    Action<string>? Launched { get; set; }

    /// <summary>A marker queued behind every launch so far: the device time between two markers is that of the launches
    /// issued between them.</summary>
    ProfilingMarker AddProfilingMarker();
}

/// <summary>Launches recorded once and replayed as one driver call (CUDA graphs).</summary>
public interface IGraphReplay
{
    /// <summary>Whether this device records and replays graphs (CUDA only).</summary>
    bool ReplaysGraphs { get; }

    /// <summary>Records the launches <paramref name="record"/> makes, without running them, as a graph to replay.</summary>
    CudaGraph CaptureGraph(Action record);
}

/// <summary>The dense AE's or VAE's whole training step in three launches (see <see cref="FusedDense"/>).</summary>
public interface IFusedDenseSteps
{
    /// <summary>Whether the dense models that offer a fused step train by it here: asked for when the backend was opened,
    /// and the device able to (the GPU kernel set, with the groups and shared memory the step needs).</summary>
    bool FusesDenseSteps { get; }

    /// <summary>What GatherRows, the model's TrainStep and Adam do, fused (see IlgpuBackend.FusedDenseStep).</summary>
    void FusedDenseStep(DenseStepLayout layout, Tensor work, int rows, float klWeight, ulong seed, Tensor data, IndexTensor order,
        StepValue firstRow, StepValue step, Tensor parameters, Tensor gradients, Tensor firstMoment, Tensor secondMoment, AdamStep adam,
        NonFiniteWatch watch, IndexTensor? stepRecord);
}
