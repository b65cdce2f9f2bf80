using System.Diagnostics.CodeAnalysis;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace GpuAe.Kernels;

/// <summary>
/// Which of two kernel sets runs the GEMMs and reductions. Gpu: the shared-memory tiled GEMM (split-K for small
/// products) and reductions by groups with shared-memory trees. Cpu: the packed-panel register-tiled GEMM and
/// reductions by plain per-thread loops: on ILGPU's CPU accelerator shared memory buys nothing (its groups are as large
/// as its threads) and every group barrier costs microseconds of operating-system synchronisation. Auto picks Cpu on
/// the CPU accelerator and Gpu elsewhere.
/// </summary>
public enum KernelSet { Auto, Cpu, Gpu }

/// <summary>A device ILGPU can see, and whether GpuAe can run on it.</summary>
public sealed record DeviceInfo(string Kind, string Name, bool Usable, string Note);

/// <summary>Runs every <see cref="IBackend"/> operation as an ILGPU kernel on CUDA, OpenCL or ILGPU's CPU accelerator.
/// Kernels are compiled once, when the backend is created, and reused for every launch.</summary>
/// <remarks>One partial file per kernel family, beside its kernels (IlgpuBackend.Gemm.cs beside Gemm.cs, …), holds the
/// family's launchers, their loading and the operations that launch them; this one holds the device, the memory and
/// what every family shares.</remarks>
public sealed partial class IlgpuBackend : IBackend, ILaunchTimeline, IGraphReplay, IFusedDenseSteps
{
    readonly Context _context;
    readonly Accelerator _accelerator;
    readonly List<MemoryBuffer> _buffers = [];
    readonly ArrayView<float> _unused; // stands in for the bias/mask views a GEMM epilogue does not read
    readonly ArrayView<int> _unusedIndex; // and for Adam's NaN flag when nothing is watched

    public KernelSet KernelSet { get; }

    IlgpuBackend(Context context, Accelerator accelerator, KernelSet kernels, bool fuseDenseSteps)
    {
        FuseDenseSteps = fuseDenseSteps;
        _context = context;
        _accelerator = accelerator;
        _unused = AllocateBuffer<float>(1).View;
        _unusedIndex = AllocateBuffer<int>(1).View;
        KernelSet = kernels != KernelSet.Auto ? kernels : accelerator.AcceleratorType == AcceleratorType.CPU ? KernelSet.Cpu : KernelSet.Gpu;
        LoadGemm();
        LoadLoss();
        LoadAdam();
        LoadFusedDense();
        LoadStepRecord();
        LoadRows();
        LoadSampling();
        LoadConv();
        LoadIwae();
    }

    public bool ReplaysGraphs => _accelerator.AcceleratorType == AcceleratorType.Cuda;

    public string DeviceName => _accelerator.AcceleratorType switch
    {
        AcceleratorType.CPU => $"CPU accelerator (ILGPU, {_accelerator.MaxNumThreads} threads)",
        AcceleratorType.Cuda => $"CUDA: {_accelerator.Name}",
        _ => $"OpenCL: {_accelerator.Name}",
    } + (KernelSet == KernelSet.Gpu ? $", GPU kernel set (shared-memory GEMM, 32 × 32 tiles, K split below {SplitBelowGroups} tiles)" : ", CPU kernel set (packed-panel GEMM)");

    // ---- device selection --------------------------------------------------------------------------------------

    /// <summary>The CPU accelerator shaped to the machine: one multiprocessor whose group has a thread per core. ILGPU wakes
    /// every multiprocessor's threads at each launch and makes a group's threads meet at a barrier after each group; one
    /// processor halves the fixed cost of a launch (~175 → ~80 µs measured on the 2-core machine), and the grid-stride
    /// kernels run one group of as many threads as cores, so a launch crosses one barrier.</summary>
    static CPUDevice CpuDevice() => new(numThreadsPerWarp: Math.Max(2, Environment.ProcessorCount), numWarpsPerMultiprocessor: 1, numMultiprocessors: 1);

    /// <summary>A CPU accelerator whose groups hold 256 threads, like a GPU's, so that the shared-memory GEMM (16 × 16 groups
    /// with barriers) runs, and is tested, on the CPU too. Slow: one operating-system thread per simulated thread.</summary>
    static CPUDevice GpuShapedCpuDevice() => new(numThreadsPerWarp: 32, numWarpsPerMultiprocessor: 8, numMultiprocessors: 1);

    // OpenCL devices are all enumerated (not just the ones ILGPU accepts) so `gpuae devices` can say why one is unusable.
    static Context CreateContext(CPUDevice? cpu = null) => Context.Create(b => b.Profiling().Cuda().OpenCL(_ => true).CPU(cpu ?? CpuDevice())
        .EnableAlgorithms().Optimize(OptimizationLevel.O2));

    static string? OpenClProblem(CLDevice d) => d.Capabilities.GenericAddressSpace ? null
        : $"OpenCL {d.CLStdVersion} without generic address space support, which ILGPU requires (OpenCL 2.0, or 3.0 with generic address space)";

    /// <summary>Every device ILGPU sees, with whether it is usable and why not.</summary>
    public static IReadOnlyList<DeviceInfo> ListDevices()
    {
        using var context = CreateContext();
        var list = new List<DeviceInfo>();
        foreach (var d in context)
        {
            switch (d)
            {
                case CudaDevice cuda:
                    list.Add(new("cuda", cuda.Name, true, $"compute capability {cuda.Architecture}, {cuda.MemorySize >> 20} MiB"));
                    break;
                case CLDevice cl:
                    var problem = OpenClProblem(cl);
                    list.Add(new("opencl", cl.Name, problem is null, problem ?? $"OpenCL {cl.CLStdVersion}, {cl.VendorName}"));
                    break;
                case CPUDevice cpu:
                    list.Add(new("cpu", "ILGPU CPU accelerator", true, $"{cpu.MaxNumThreads} threads (one per core), scalar managed code"));
                    break;
            }
        }
        return list;
    }

    /// <summary>Opens cpu|cuda|opencl. Which device `auto` means is decided in one place, GpuAe.Nets.Backends.</summary>
    /// <param name="kernels">forces one kernel set; the GPU set on cpu runs on a GPU-shaped CPU accelerator.</param>
    /// <param name="fuseDenseSteps">the dense models train by the fused step where the device can (<see cref="FusesDenseSteps"/>).</param>
    public static IlgpuBackend Open(string kind, KernelSet kernels = KernelSet.Auto, bool fuseDenseSteps = false)
    {
        var context = CreateContext(kind == "cpu" && kernels == KernelSet.Gpu ? GpuShapedCpuDevice() : null);
        try
        {
            Device? chosen = kind switch
            {
                "cpu" => context.Devices.OfType<CPUDevice>().FirstOrDefault(),
                "cuda" => context.Devices.OfType<CudaDevice>().FirstOrDefault(),
                "opencl" => context.Devices.OfType<CLDevice>().FirstOrDefault(d => OpenClProblem(d) is null),
                _ => throw new UserError($"unknown ILGPU device '{kind}': use cpu, cuda or opencl"),
            };
            if (chosen is null)
            {
                var found = string.Join("; ", ListDevices().Select(d => $"{d.Kind}: {d.Name}{(d.Usable ? "" : " (unusable: " + d.Note + ")")}"));
                throw new UserError($"no usable {kind} device; devices found: {found}. Run `gpuae devices` for details or use --device cpu");
            }
            return new IlgpuBackend(context, chosen.CreateAccelerator(context), kernels, fuseDenseSteps);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    // ---- memory ------------------------------------------------------------------------------------------------

    readonly MemoryLedger _ledger = new(storage => ((MemoryBuffer)storage).Dispose());

    /// <summary>A zeroed buffer: the backend's own (scratch, stand-ins; <paramref name="persistent"/>), kept until the
    /// backend is disposed, or a caller's tensor, freed by the scope it was allocated in, if any (<see cref="Scope"/>).</summary>
    MemoryBuffer1D<T, Stride1D.Dense> AllocateBuffer<T>(int length, bool persistent = true) where T : unmanaged
    {
        var buffer = _accelerator.Allocate1D<T>(length);
        buffer.MemSetToZero();
        if (persistent)
        {
            _buffers.Add(buffer);
            _ledger.AddPersistent(buffer.LengthInBytes);
        }
        else _ledger.Add(buffer, buffer.LengthInBytes);
        return buffer;
    }

    public Tensor Allocate(int length) => new(AllocateBuffer<float>(length, persistent: false), 0, length);
    public IndexTensor AllocateIndices(int length) => new(AllocateBuffer<int>(length, persistent: false), 0, length);
    public long AllocatedBytes => _ledger.Bytes;
    public long PeakAllocatedBytes => _ledger.PeakBytes;
    public IDisposable Scope() => _ledger.Scope();

    static ArrayView<float> View(Tensor t) => ((MemoryBuffer1D<float, Stride1D.Dense>)t.Storage).View.SubView(t.Offset, t.Length);
    static ArrayView<int> View(IndexTensor t) => ((MemoryBuffer1D<int, Stride1D.Dense>)t.Storage).View.SubView(t.Offset, t.Length);

    public void Upload(Tensor destination, ReadOnlySpan<float> source) => View(destination).SubView(0, source.Length).CopyFromCPU(source);
    public void Upload(IndexTensor destination, ReadOnlySpan<int> source) => View(destination).SubView(0, source.Length).CopyFromCPU(source);
    public void Download(Tensor source, Span<float> destination) => View(source).SubView(0, destination.Length).CopyToCPU(destination);
    public void Download(IndexTensor source, Span<int> destination) => View(source).SubView(0, destination.Length).CopyToCPU(destination);

    public void Synchronize() => _accelerator.Synchronize();

    /// <summary>Called with the operation's name and sizes after every operation that launches work (for the timeline:
    /// <see cref="AddProfilingMarker"/> there). Null, the default, costs a null test per operation.</summary>
    public Action<string>? Launched { get; set; }

    /// <summary>A profiling marker (on CUDA, an event) queued behind every launch so far: the device time between two
    /// markers is that of the launches issued between them (see GpuAe.Nets.Diagnostics.Timeline).</summary>
    public ProfilingMarker AddProfilingMarker() => _accelerator.AddProfilingMarker();

    /// <summary>Records the launches <paramref name="record"/> makes as a CUDA graph (CUDA only; see <see cref="CudaGraph"/>).</summary>
    public CudaGraph CaptureGraph(Action record) => CudaGraph.Capture(_accelerator, record);

    // ---- what the families share --------------------------------------------------------------------------------

    /// <summary>
    /// Compiles <paramref name="kernel"/> into <paramref name="launcher"/>, whose type, written once on its field, is the
    /// kernel's parameters behind the stream and the launch's extent: Action&lt;AcceleratorStream, Index1D, …&gt; for an
    /// auto-grouped kernel (one whose first parameter is its Index1D, launched with the thread count), and
    /// Action&lt;AcceleratorStream, KernelConfig, …&gt; for one with explicit groups. The field's type, which the compiler
    /// infers the helper's from, is checked against the kernel's parameters here, once, when the backend opens.
    /// </summary>
    /// <remarks>The type may be nullable: the launchers of one kernel set only are null in the other.</remarks>
    void Load<TLauncher>([NotNull] out TLauncher launcher, Delegate kernel) where TLauncher : Delegate?
    {
        var method = kernel.Method;
        Type[] parameters = [.. method.GetParameters().Select(p => p.ParameterType)];
        bool autoGrouped = parameters.Length > 0 && parameters[0] == typeof(Index1D);
        Type[] expected = autoGrouped ? [typeof(AcceleratorStream), .. parameters] : [typeof(AcceleratorStream), typeof(KernelConfig), .. parameters];
        if (!typeof(TLauncher).GetMethod("Invoke")!.GetParameters().Select(p => p.ParameterType).SequenceEqual(expected))
            throw new InvalidOperationException($"the launcher {typeof(TLauncher)} does not fit the kernel {method.DeclaringType?.Name}.{method.Name}");
#pragma warning disable CS8631 // TLauncher may be annotated nullable; what ILGPU returns is not null
        launcher = autoGrouped ? _accelerator.LoadAutoGroupedKernel<TLauncher>(method)! : _accelerator.LoadKernel<TLauncher>(method)!;
#pragma warning restore CS8631
    }

    /// <summary>The stream every launch goes to: the accelerator's default stream, read at each launch (a CUDA graph's
    /// recording swaps it, <see cref="CudaGraph.Capture"/>).</summary>
    AcceleratorStream Stream => _accelerator.DefaultStream;

    /// <summary>Threads for a grid-stride elementwise kernel: never more than the device runs at once.</summary>
    int Threads(int elements) => Math.Max(1, Math.Min(elements, _accelerator.MaxNumThreads));

    /// <summary>Whether a tensor or a view starts on a multiple of 8 floats of its buffer, so that kernels may read it as
    /// Vec8s (ArrayView.Cast rounds a start down). The view overload is generic: no boxing per launch.</summary>
    static bool StartsOnVec8(Tensor t) => t.Offset % Vec8.Length == 0;
    static bool StartsOnVec8<TView>(TView view) where TView : IContiguousArrayView => view.Index % Vec8.Length == 0;

    /// <summary>The step record a launch reads, or a stand-in when its numbers come with the launch.</summary>
    ArrayView<int> RecordView(IndexTensor? record) => record is { } r ? View(r) : _unusedIndex;

    public void Dispose()
    {
        _ledger.ReleaseAll();
        foreach (var buffer in _buffers) buffer.Dispose();
        _accelerator.Dispose();
        _context.Dispose();
    }
}
