using System.Runtime.InteropServices;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace GpuAe.Kernels;

/// <summary>
/// A sequence of launches recorded once as a CUDA graph and replayed with one call: the driver then submits all of its
/// kernels together, which cuts the fixed cost each launch has on the GPU (the small kernels of a training step are
/// mostly that cost, the gap before them included; what a graph saves: BENCHMARKS.md). On CUDA the trainer replays
/// every full-batch step from one, and so do `gpuae bench --epoch` and `gpuae check`'s epochs by the step record: a
/// graph replays the recorded launches with their recorded arguments, so the trainer reads everything that changes
/// per step (Adam's step, the batch's first row, the noise counter) from device memory (see <see cref="StepRecord"/>).
/// ILGPU 1.5.3 has no graph API; this uses the driver's stream capture through P/Invoke, on Linux.
/// </summary>
public sealed class CudaGraph : IDisposable
{
    const string Driver = "libcuda.so.1";
    const int CaptureModeRelaxed = 2; // CU_STREAM_CAPTURE_MODE_RELAXED: other threads' driver calls stay allowed

    [DllImport(Driver)] static extern int cuStreamBeginCapture_v2(IntPtr stream, int mode);
    [DllImport(Driver)] static extern int cuStreamEndCapture(IntPtr stream, out IntPtr graph);
    [DllImport(Driver)] static extern int cuGraphInstantiateWithFlags(out IntPtr exec, IntPtr graph, ulong flags);
    [DllImport(Driver)] static extern int cuGraphLaunch(IntPtr exec, IntPtr stream);
    [DllImport(Driver)] static extern int cuGraphExecDestroy(IntPtr exec);
    [DllImport(Driver)] static extern int cuGraphDestroy(IntPtr graph);

    readonly IntPtr _graph, _exec;

    CudaGraph(IntPtr graph, IntPtr exec) { _graph = graph; _exec = exec; }

    /// <summary>Records the launches <paramref name="record"/> makes on <paramref name="accelerator"/>'s default stream. ILGPU's
    /// default CUDA stream is the legacy NULL stream, which cannot be captured, so for the recording the default stream
    /// is swapped for a stream of our own (its setter is protected: set by reflection), then put back. Run
    /// <paramref name="record"/> once beforehand, so that everything it allocates exists (allocation is not a stream operation).</summary>
    internal static CudaGraph Capture(Accelerator accelerator, Action record)
    {
        if (accelerator is not CudaAccelerator)
            throw new UserError("CUDA graphs need a CUDA device: use --device cuda");
        var defaultStream = typeof(Accelerator).GetProperty(nameof(Accelerator.DefaultStream))!;
        var original = accelerator.DefaultStream;
        accelerator.Synchronize(); // the swap with nothing in flight: one wait for the device, once per recording
        using var stream = (CudaStream)accelerator.CreateStream();
        defaultStream.SetValue(accelerator, stream);
        IntPtr graph;
        try
        {
            Check(cuStreamBeginCapture_v2(stream.StreamPtr, CaptureModeRelaxed), "cuStreamBeginCapture");
            try { record(); }
            finally { Check(cuStreamEndCapture(stream.StreamPtr, out graph), "cuStreamEndCapture"); }
        }
        finally { defaultStream.SetValue(accelerator, original); }
        Check(cuGraphInstantiateWithFlags(out var exec, graph, 0), "cuGraphInstantiateWithFlags");
        return new CudaGraph(graph, exec);
    }

    /// <summary>Queues the whole graph on the NULL stream, behind everything launched before it.</summary>
    public void Launch() => Check(cuGraphLaunch(_exec, IntPtr.Zero), "cuGraphLaunch");

    static void Check(int result, string call)
    {
        if (result != 0) throw new InvalidOperationException($"{call} failed with CUDA error {result}");
    }

    public void Dispose()
    {
        cuGraphExecDestroy(_exec);
        cuGraphDestroy(_graph);
    }
}
