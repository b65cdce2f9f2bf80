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
public sealed partial class IlgpuBackend : IBackend, ILaunchTimeline, IGraphReplay, IFusedDenseSteps
{
    readonly Context _context;
    readonly Accelerator _accelerator;
    readonly List<MemoryBuffer> _buffers = [];
    readonly ArrayView<float> _unused; // stands in for the bias/mask views a GEMM epilogue does not read
    readonly ArrayView<int> _unusedIndex; // and for Adam's NaN flag when nothing is watched

    readonly Action<Index1D, int, ArrayView<float>, PackArgs, ArrayView<float>, ArrayView<float>, PackArgs, ArrayView<float>>? _packOperands;
    readonly Action<Index1D, int, GemmArgs, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _packedGemm;
    readonly Action<KernelConfig, GemmArgs, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _sharedGemm;
    readonly Action<Index1D, int, GemmArgs, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _addSplits;
    readonly Action<KernelConfig, ArrayView<float>, int, int, ArrayView<float>>? _columnSumsSplit;
    readonly Action<KernelConfig, ArrayView<float>, int, int, ArrayView<float>>? _columnSumsFinish;
    readonly Action<Index1D, int, ArrayView<float>, int, int, ArrayView<float>>? _columnSumsPerThread;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>? _sigmoidBce;
    readonly Action<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float>? _sigmoidBcePerThread;
    readonly Action<KernelConfig, ArrayView<float>, int, ArrayView<float>, int, float> _accumulateSum;
    readonly Action<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamStep, ArrayView<float>, ArrayView<int>, NonFiniteCheck, ArrayView<int>, AdamSource> _adam;
    readonly Action<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamStep, ArrayView<float>, ArrayView<int>, NonFiniteCheck, ArrayView<int>, AdamSource>? _adamVectors;
    readonly Action<Index1D, ArrayView<int>, ArrayView<int>> _beginStep;
    readonly Action<Index1D, int, ArrayView<float>, ArrayView<int>, ArrayView<int>, StepNumber, int, ArrayView<float>> _gather;
    readonly Action<Index1D, int, ArrayView<float>, ArrayView<float>> _sigmoid;
    readonly Action<Index1D, int, ArrayView<float>, float> _fill;
    readonly Action<Index1D, int, ArrayView<float>, ulong, ArrayView<int>, StepNumber> _normalNoise;
    readonly Action<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> _reparameterize;
    readonly Action<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float> _reparameterizeBackward;
    readonly Action<Index1D, int, ArrayView<float>, ArrayView<float>, int> _klRows;
    readonly Action<Index1D, int, SpecializedValue<ConvGeometry>, int, ArrayView<float>, ArrayView<float>> _im2Col;
    readonly Action<Index1D, int, SpecializedValue<ConvGeometry>, int, ArrayView<float>, int, ArrayView<float>, ArrayView<float>> _col2Im;
    readonly Action<Index1D, int, ArrayView<float>, int, int, ArrayView<float>, int> _addBias;
    readonly Action<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int> _logWeights;
    readonly Action<Index1D, int, ArrayView<float>, int, int, ArrayView<float>> _negativeLogMeanExp;
    readonly Action<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float> _softmaxCrossEntropy;

    readonly Action<Index1D, int, DenseStepArgs, ArrayView<float>, ArrayView<float>>? _transposeWeights;
    readonly Action<KernelConfig, DenseStepArgs, ArrayView<float>, ArrayView<int>, ArrayView<int>, StepNumber, StepNumber, ArrayView<float>, ArrayView<float>>? _stepRows;
    readonly Action<KernelConfig, DenseStepArgs, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamStep, ArrayView<float>, ArrayView<float>, ArrayView<int>, NonFiniteCheck, ArrayView<int>, AdamSource>? _stepUpdate;

    public KernelSet KernelSet { get; }

    /// <summary>Whether <see cref="FusedDenseStep"/> can run here: the GPU kernel set, with groups of 256 threads and
    /// <see cref="FusedDense.SharedBytes"/> of shared memory (some OpenCL devices have 32 KB).</summary>
    public bool CanFuseDenseSteps => _stepRows is not null;

    /// <summary>Whether the dense models train by <see cref="FusedDenseStep"/> (three launches a step) rather than kernel by
    /// kernel: asked for at <see cref="Open"/>, where the device can. Off by default until a GPU measurement shows the
    /// fused step faster: no lent GPU has run it yet (BENCHMARKS.md); `gpuae bench` times both in one run and
    /// `gpuae check` checks it, each on a second backend opened fused; the tests open one.</summary>
    public bool FusesDenseSteps => _fusesDenseSteps && CanFuseDenseSteps;
    readonly bool _fusesDenseSteps;

    /// <summary>The shared-memory GEMM splits K when C has fewer 32 × 32 tiles than this: by default the number of
    /// multiprocessors, so that every one gets work. Tests raise it to exercise the split path on small shapes.</summary>
    public int SplitBelowGroups { get; set; }

    /// <summary>Threads per group of the group reductions (the GPU set's loss rows and column sums, and the batch sums
    /// of both sets): the largest power of two the device allows, up to 256. On the CPU accelerator, whose one group
    /// has a thread per core, the largest power of two not above the core count.</summary>
    readonly int _reduceGroup;
    // Scratch buffers, grown to the largest size needed, then reused (see Scratch): the split-K partial products and
    // the packed GEMM's operands.
    MemoryBuffer1D<float, Stride1D.Dense>? _splitPartials, _panelsA, _panelsB;

    IlgpuBackend(Context context, Accelerator accelerator, KernelSet kernels, bool fuseDenseSteps)
    {
        _fusesDenseSteps = fuseDenseSteps;
        _context = context;
        _accelerator = accelerator;
        _unused = AllocateBuffer<float>(1).View;
        _unusedIndex = AllocateBuffer<int>(1).View;
        KernelSet = kernels != KernelSet.Auto ? kernels : accelerator.AcceleratorType == AcceleratorType.CPU ? KernelSet.Cpu : KernelSet.Gpu;
        if (KernelSet == KernelSet.Cpu)
        {
            _packOperands = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, PackArgs, ArrayView<float>, ArrayView<float>, PackArgs, ArrayView<float>>(Kernels.Gemm.PackOperands);
            _packedGemm = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, GemmArgs, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(Kernels.Gemm.PackedTiled);
            _columnSumsPerThread = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, int, int, ArrayView<float>>(Kernels.Gemm.ColumnSumsPerThread);
            _sigmoidBcePerThread = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float>(Loss.SigmoidBceRowsPerThread);
            _adamVectors = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamStep, ArrayView<float>, ArrayView<int>, NonFiniteCheck, ArrayView<int>, AdamSource>(AdamKernels.UpdateVectors);
        }
        else
        {
            _sharedGemm = accelerator.LoadStreamKernel<GemmArgs, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(Kernels.Gemm.SharedTiled);
            _addSplits = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, GemmArgs, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(Kernels.Gemm.AddSplits);
            _columnSumsSplit = accelerator.LoadStreamKernel<ArrayView<float>, int, int, ArrayView<float>>(Kernels.Gemm.ColumnSumsSplit);
            _columnSumsFinish = accelerator.LoadStreamKernel<ArrayView<float>, int, int, ArrayView<float>>(Kernels.Gemm.ColumnSumsFinish);
            _sigmoidBce = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>(Loss.SigmoidBceRows);
            if (accelerator.MaxNumThreadsPerGroup >= FusedDense.GroupSize && accelerator.MaxSharedMemoryPerGroup >= FusedDense.SharedBytes)
            {
                _transposeWeights = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, DenseStepArgs, ArrayView<float>, ArrayView<float>>(FusedDense.TransposeWeights);
                _stepRows = accelerator.LoadStreamKernel<DenseStepArgs, ArrayView<float>, ArrayView<int>, ArrayView<int>, StepNumber, StepNumber, ArrayView<float>, ArrayView<float>>(FusedDense.StepRows);
                _stepUpdate = accelerator.LoadStreamKernel<DenseStepArgs, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamStep, ArrayView<float>, ArrayView<float>, ArrayView<int>, NonFiniteCheck, ArrayView<int>, AdamSource>(FusedDense.StepUpdate);
            }
        }
        SplitBelowGroups = accelerator.NumMultiprocessors;
        _reduceGroup = 1;
        while (_reduceGroup * 2 <= Math.Min(Loss.MaxGroup, accelerator.MaxNumThreadsPerGroup)) _reduceGroup *= 2;
        _accumulateSum = accelerator.LoadStreamKernel<ArrayView<float>, int, ArrayView<float>, int, float>(Loss.AccumulateSum);
        _adam = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamStep, ArrayView<float>, ArrayView<int>, NonFiniteCheck, ArrayView<int>, AdamSource>(AdamKernels.Update);
        _beginStep = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<int>>(StepRecord.Begin);
        _gather = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<int>, ArrayView<int>, StepNumber, int, ArrayView<float>>(Rows.Gather);
        _sigmoid = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<float>>(Rows.Sigmoid);
        _fill = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, float>(Rows.Fill);
        _normalNoise = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ulong, ArrayView<int>, StepNumber>(Sampling.NormalNoise);
        _reparameterize = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(Sampling.Reparameterize);
        _reparameterizeBackward = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>(Sampling.ReparameterizeBackward);
        _klRows = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<float>, int>(Sampling.KlRows);
        _im2Col = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, SpecializedValue<ConvGeometry>, int, ArrayView<float>, ArrayView<float>>(Conv.Im2Col);
        _col2Im = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, SpecializedValue<ConvGeometry>, int, ArrayView<float>, int, ArrayView<float>, ArrayView<float>>(Conv.Col2Im);
        _addBias = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, int, int, ArrayView<float>, int>(Conv.AddBias);
        _logWeights = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(Iwae.LogWeights);
        _negativeLogMeanExp = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, int, int, ArrayView<float>>(Iwae.NegativeLogMeanExp);
        _softmaxCrossEntropy = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float>(Loss.SoftmaxCrossEntropyRows);
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

    public void Fill(Tensor destination, float value)
    {
        int threads = Threads(destination.Length);
        _fill(threads, threads, View(destination), value);
        Launched?.Invoke($"fill {destination.Length}");
    }
    public void Synchronize() => _accelerator.Synchronize();

    /// <summary>Called with the operation's name and sizes after every operation that launches work (for the timeline:
    /// <see cref="AddProfilingMarker"/> there). Null, the default, costs a null test per operation.</summary>
    public Action<string>? Launched { get; set; }

    static string Images(int count, ConvGeometry g) => $"{count}×{g.InHeight}×{g.InWidth}×{g.Channels} k{g.Kernel} s{g.Stride}";

    /// <summary>A profiling marker (on CUDA, an event) queued behind every launch so far: the device time between two
    /// markers is that of the launches issued between them (see GpuAe.Nets.Diagnostics.Timeline).</summary>
    public ProfilingMarker AddProfilingMarker() => _accelerator.AddProfilingMarker();

    /// <summary>Records the launches <paramref name="record"/> makes as a CUDA graph (CUDA only; see <see cref="CudaGraph"/>).</summary>
    public CudaGraph CaptureGraph(Action record) => CudaGraph.Capture(_accelerator, record);

    /// <summary>Threads for a grid-stride elementwise kernel: never more than the device runs at once.</summary>
    int Threads(int elements) => Math.Max(1, Math.Min(elements, _accelerator.MaxNumThreads));

    // ---- kernels -----------------------------------------------------------------------------------------------

    void LaunchGemm(GemmArgs g, Tensor a, Tensor b, ArrayView<float> bias, ArrayView<float> mask, Tensor c)
    {
        if (_packedGemm is null)
        {
            LaunchSharedGemm(g, View(a), View(b), bias, mask, View(c));
            return;
        }
        g.VectorStores = g.N % Vec8.Length == 0 && StartsOnVec8(c) && StartsOnVec8(bias) && StartsOnVec8(mask) ? 1 : 0;
        var aArgs = new PackArgs { Aligned = StartsOnVec8(a) ? 1 : 0, Rows = g.M, Depth = g.K, StrideRow = g.AStrideM, StrideK = g.AStrideK };
        var bArgs = new PackArgs { Aligned = StartsOnVec8(b) ? 1 : 0, Rows = g.N, Depth = g.K, StrideRow = g.BStrideN, StrideK = g.BStrideK };
        var aPanels = Scratch(ref _panelsA, aArgs.PanelLength);
        var bPanels = Scratch(ref _panelsB, bArgs.PanelLength);
        int threads = Threads(aArgs.Blocks + bArgs.Blocks);
        _packOperands!(threads, threads, View(a), aArgs, aPanels, View(b), bArgs, bPanels);
        int t = Kernels.Gemm.Tile;
        threads = Threads((g.M + t - 1) / t * ((g.N + t - 1) / t));
        _packedGemm(threads, threads, g, aPanels, bPanels, bias, mask, View(c));
    }

    /// <summary>Whether a tensor or a view starts on a multiple of 8 floats of its buffer, so that kernels may read it as
    /// Vec8s (ArrayView.Cast rounds a start down). The view overload is generic: no boxing per launch.</summary>
    static bool StartsOnVec8(Tensor t) => t.Offset % Vec8.Length == 0;
    static bool StartsOnVec8<TView>(TView view) where TView : IContiguousArrayView => view.Index % Vec8.Length == 0;

    void LaunchSharedGemm(GemmArgs g, ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, ArrayView<float> mask, ArrayView<float> c)
    {
        int tile = Kernels.Gemm.GroupTile, side = Kernels.Gemm.GroupThreads;
        var tiles = new Index2D((g.N + tile - 1) / tile, (g.M + tile - 1) / tile);
        int kTiles = (g.K + tile - 1) / tile;
        int splits = Splits((int)tiles.Size, kTiles, SplitBelowGroups);
        g.KPerSplit = (kTiles + splits - 1) / splits * tile;
        splits = (g.K + g.KPerSplit - 1) / g.KPerSplit;
        var group = new Index3D(side, side, 1);
        // The partial products, then (for RowSums) the partial row sums of A: see SharedTiled and AddSplits.
        int size = g.M * g.N, rowSums = (g.Epilogue & GemmEpilogue.RowSums) != 0 ? g.M : 0;
        var partials = splits == 1 ? _unused : Scratch(ref _splitPartials, splits * (size + rowSums));
        if (splits == 1)
        {
            _sharedGemm!(new KernelConfig(new Index3D(tiles.X, tiles.Y, 1), group), g, a, b, bias, mask, c);
            return;
        }
        _sharedGemm!(new KernelConfig(new Index3D(tiles.X, tiles.Y, splits), group), g with { Epilogue = g.Epilogue & GemmEpilogue.RowSums },
            a, b, rowSums > 0 ? partials.SubView(splits * size, splits * rowSums) : _unused, _unused, partials);
        int threads = Threads(size + rowSums);
        _addSplits!(threads, threads, g, splits, partials, bias, mask, c);
    }

    /// <summary>The most 32-deep tiles of K one group of the shared-memory GEMM multiplies while the chip has room for more groups.</summary>
    const int LongestChain = 8;

    /// <summary>How many ways the shared-memory GEMM splits K, for C of <paramref name="tiles"/> 32 × 32 tiles and K of
    /// <paramref name="kTiles"/> tiles. As many splits as fill the chip (one group per multiprocessor: splitBelow),
    /// down to one 32-deep tile each: a group's steps along K are a serial chain (barrier, shared loads, multiply-adds),
    /// so even the AE's small GEMMs are faster split (BENCHMARKS.md). Then, where the chip would still hold more groups
    /// (up to four per multiprocessor), more splits, so that no group chains more than <see cref="LongestChain"/>
    /// tiles: a conv layer's weight gradient (C 64 × 288: 18 tiles, K = 6,272 positions) took 52 µs on an H200 as 8
    /// splits of 25 tiles. The dense AE's products split as before.</summary>
    public static int Splits(int tiles, int kTiles, int splitBelow)
    {
        int splits = Math.Clamp((splitBelow + tiles - 1) / tiles, 1, kTiles);
        if ((kTiles + splits - 1) / splits > LongestChain)
            splits = Math.Clamp(Math.Min((kTiles + LongestChain - 1) / LongestChain, 4 * splitBelow / tiles), splits, kTiles);
        return splits;
    }

    /// <summary>The first <paramref name="length"/> floats of a scratch buffer, grown if needed (launches run in order,
    /// so one GEMM's scratch is never overwritten before it has been read).</summary>
    ArrayView<float> Scratch(ref MemoryBuffer1D<float, Stride1D.Dense>? scratch, int length)
    {
        if (scratch is null || scratch.Length < length) scratch = AllocateBuffer<float>(length);
        return scratch.View.SubView(0, length);
    }

    public void DenseForward(Tensor x, Tensor w, Tensor b, Tensor y, int rows, int inFeatures, int outFeatures, Activation activation)
    {
        Shapes.DenseForward(x, w, b, y, rows, inFeatures, outFeatures);
        var epilogue = GemmEpilogue.AddBias | (activation == Activation.Relu ? GemmEpilogue.Relu : GemmEpilogue.None);
        LaunchGemm(GemmArgs.Forward(rows, inFeatures, outFeatures, epilogue), x, w, View(b), _unused, y);
        Launched?.Invoke($"dense forward {rows}×{inFeatures}→{outFeatures}");
    }

    public void DenseBackwardInput(Tensor dy, Tensor w, Tensor dx, int rows, int inFeatures, int outFeatures, Tensor? reluOutput)
    {
        Shapes.DenseBackwardInput(dy, w, dx, reluOutput, rows, inFeatures, outFeatures);
        var epilogue = reluOutput is null ? GemmEpilogue.None : GemmEpilogue.ReluMask;
        LaunchGemm(GemmArgs.BackwardInput(rows, inFeatures, outFeatures, epilogue), dy, w, _unused,
            reluOutput is { } mask ? View(mask) : _unused, dx);
        Launched?.Invoke($"dense backward dX {rows}×{inFeatures}→{outFeatures}");
    }

    public void DenseBackwardParameters(Tensor dy, Tensor x, Tensor dw, Tensor? db, int rows, int inFeatures, int outFeatures)
    {
        Shapes.DenseBackwardParameters(dy, x, dw, db, rows, inFeatures, outFeatures);
        // The bias gradient, dy's column sums, are the row sums of the GEMM's A = dyᵀ: summed inside it (one launch fewer).
        var epilogue = db is null ? GemmEpilogue.None : GemmEpilogue.RowSums;
        LaunchGemm(GemmArgs.BackwardWeights(rows, inFeatures, outFeatures, epilogue), dy, x, db is { } bias ? View(bias) : _unused, _unused, dw);
        Launched?.Invoke($"dense backward dW, db {rows}×{inFeatures}→{outFeatures}");
    }

    MemoryBuffer1D<float, Stride1D.Dense>? _columnPartials;

    public void ColumnSums(Tensor dy, int rows, int outFeatures, Tensor db)
    {
        Shapes.Rows("column sums", rows, outFeatures, ("dy", dy, false)); Shapes.Rows("column sums", 1, outFeatures, ("db", db, false));
        if (rows == 0 || outFeatures == 0)
        {
            if (outFeatures > 0) Fill(db.Slice(0, outFeatures), 0f);
            return;
        }
        if (_columnSumsPerThread is not null)
        {
            int threads = Threads(outFeatures);
            _columnSumsPerThread(threads, threads, View(dy), rows, outFeatures, View(db));
        }
        else
        {
            // Two launches over the whole chip (Gemm.ColumnSumsSplit; groups of 256, as every kernel of the GPU set).
            // The bias gradient of the conv decoder's last layer, 100,352 rows × 1, took 43 µs on an H200 as a split-K
            // GEMM against a vector of ones, and milliseconds with a group per column.
            int rowsPerGroup = Kernels.Gemm.ColumnSumPhases(outFeatures) * Kernels.Gemm.ColumnSumRowsPerThread;
            int groups = (rows + rowsPerGroup - 1) / rowsPerGroup, blocks = (outFeatures + Loss.MaxGroup - 1) / Loss.MaxGroup;
            var partials = Scratch(ref _columnPartials, groups * outFeatures);
            _columnSumsSplit!(new KernelConfig(new Index2D(groups, blocks), new Index2D(Loss.MaxGroup, 1)), View(dy), rows, outFeatures, partials);
            _columnSumsFinish!(new KernelConfig(outFeatures, Loss.MaxGroup), partials, groups, outFeatures, View(db));
        }
        Launched?.Invoke($"column sums {rows}×{outFeatures}");
    }

    public void SigmoidBce(Tensor logits, Tensor targets, Tensor dLogits, Tensor rowBce, Tensor rowSquaredError, int rows, int cols, float gradScale)
    {
        Shapes.Rows("sigmoid + BCE", rows, cols, ("logits", logits, false), ("targets", targets, false), ("dLogits", dLogits, false), ("rowBce", rowBce, true), ("rowSquaredError", rowSquaredError, true));
        if (_sigmoidBcePerThread is not null)
        {
            int threads = Threads(rows);
            _sigmoidBcePerThread(threads, threads, View(logits), View(targets), View(dLogits), View(rowBce), View(rowSquaredError), rows, cols, gradScale);
            Launched?.Invoke($"sigmoid + BCE + gradient {rows}×{cols}");
            return;
        }
        _sigmoidBce!(new KernelConfig(rows, _reduceGroup), View(logits), View(targets), View(dLogits), View(rowBce), View(rowSquaredError), cols, gradScale);
        Launched?.Invoke($"sigmoid + BCE + gradient {rows}×{cols}");
    }

    public void SoftmaxCrossEntropy(Tensor logits, Tensor targets, Tensor dLogits, Tensor rowLoss, Tensor rowCorrect, int rows, int cols, float gradScale)
    {
        Shapes.Rows("softmax cross-entropy", rows, cols, ("logits", logits, false), ("targets", targets, false), ("dLogits", dLogits, false), ("rowLoss", rowLoss, true), ("rowCorrect", rowCorrect, true));
        int threads = Threads(rows);
        _softmaxCrossEntropy(threads, threads, View(logits), View(targets), View(dLogits), View(rowLoss), View(rowCorrect), rows, cols, gradScale);
        Launched?.Invoke($"softmax cross-entropy + gradient {rows}×{cols}");
    }

    public void AccumulateSum(Tensor values, int count, Tensor accumulator, int slot, float scale = 1f)
    {
        Shapes.AccumulateSum(values, count, accumulator, slot);
        _accumulateSum(new KernelConfig(1, _reduceGroup), View(values), count, View(accumulator), slot, scale);
        Launched?.Invoke($"accumulate sum {count}");
    }

    public void Adam(Tensor parameters, Tensor gradients, Tensor firstMoment, Tensor secondMoment, AdamStep step, NonFiniteWatch? watch = null,
        IndexTensor? stepRecord = null)
    {
        Shapes.Adam(parameters, gradients, firstMoment, secondMoment, watch, stepRecord);
        int threads = Threads(parameters.Length);
        bool aligned = StartsOnVec8(parameters) && StartsOnVec8(gradients) && StartsOnVec8(firstMoment) && StartsOnVec8(secondMoment);
        var adam = _adamVectors is not null && aligned ? _adamVectors : _adam;
        var record = RecordView(stepRecord);
        var source = new AdamSource { FromRecord = stepRecord is null ? 0 : 1 };
        var (sums, flag, check) = watch is { } w
            ? (View(w.Sums), View(w.Flag), new NonFiniteCheck { Slot = w.Slot, Step = (int)Math.Min(w.Step, int.MaxValue), Enabled = 1 })
            : (_unused, _unusedIndex, default(NonFiniteCheck));
        adam(threads, threads, View(parameters), View(gradients), View(firstMoment), View(secondMoment), step, sums, flag, check, record, source);
        Launched?.Invoke($"Adam {parameters.Length}");
    }

    /// <summary>
    /// A whole training step of the dense AE or VAE in three launches (<see cref="FusedDense"/>): the batch of
    /// <paramref name="rows"/> gathered from data by order from firstRow, forward, loss, every gradient (also stored in
    /// gradients), Adam on every parameter, the batch's loss added to the watched sum and checked. What the unfused
    /// launches do between <see cref="GatherRows"/> and <see cref="Adam"/>, to float rounding; work: the layout's
    /// <see cref="DenseStepLayout.WorkLength"/> floats. Only where <see cref="FusesDenseSteps"/>.
    /// </summary>
    public void FusedDenseStep(DenseStepLayout layout, Tensor work, int rows, float klWeight, ulong seed, Tensor data, IndexTensor order,
        StepValue firstRow, StepValue step, Tensor parameters, Tensor gradients, Tensor firstMoment, Tensor secondMoment, AdamStep adam,
        NonFiniteWatch watch, IndexTensor? stepRecord)
    {
        if (_stepRows is null || _stepUpdate is null) throw new InvalidOperationException("the fused dense step needs the GPU kernel set");
        // (It runs whether or not FusesDenseSteps is on: that only says whether the models ask for it.)
        if (!layout.Fits) throw new ArgumentException($"the fused dense step does not take {layout}");
        if (rows < 1 || rows > layout.MaxRows) throw new ArgumentOutOfRangeException(nameof(rows), $"{rows} rows for a layout of {layout.MaxRows}");
        if (work.Length < layout.WorkLength) throw new ArgumentException($"work holds {work.Length} floats, the layout needs {layout.WorkLength}");
        Shapes.GatherRows(order, firstRow, rows, layout.Features, data, work);
        Shapes.Adam(parameters, gradients, firstMoment, secondMoment, watch, stepRecord);
        var args = layout.Arguments(rows, klWeight, seed);
        var record = RecordView(stepRecord);
        int threads = Threads(layout.WeightCount);
        _transposeWeights!(threads, threads, args, View(parameters), View(work));
        Launched?.Invoke($"fused step: Wᵀ {layout.WeightCount}");
        int groups = (rows + FusedDense.RowsPerGroup - 1) / FusedDense.RowsPerGroup;
        _stepRows(new KernelConfig(groups, FusedDense.GroupSize), args, View(data), View(order), record, firstRow.Argument, step.Argument,
            View(parameters), View(work));
        Launched?.Invoke($"fused step: rows {rows}×{layout.Features}");
        var check = new NonFiniteCheck { Slot = watch.Slot, Step = (int)Math.Min(watch.Step, int.MaxValue), Enabled = 1 };
        var source = new AdamSource { FromRecord = stepRecord is null ? 0 : 1 };
        int side = Kernels.Gemm.GroupThreads;
        _stepUpdate(new KernelConfig(new Index3D(layout.UpdateGroups, 1, 1), new Index3D(side, side, 1)), args, View(parameters), View(gradients),
            View(firstMoment), View(secondMoment), adam, View(work), View(watch.Sums), View(watch.Flag), check, record, source);
        Launched?.Invoke($"fused step: dW, db, Adam {parameters.Length}");
    }

    public void BeginStep(IndexTensor schedule, IndexTensor record)
    {
        _beginStep(1, View(schedule), View(record));
        Launched?.Invoke("begin step");
    }

    /// <summary>The step record a launch reads, or a stand-in when its numbers come with the launch.</summary>
    ArrayView<int> RecordView(IndexTensor? record) => record is { } r ? View(r) : _unusedIndex;

    public void GatherRows(Tensor data, IndexTensor order, StepValue start, int rows, int cols, Tensor destination)
    {
        Shapes.GatherRows(order, start, rows, cols, data, destination);
        int threads = Threads(rows * cols);
        _gather(threads, threads, View(data), View(order), RecordView(start.Record), start.Argument, cols, View(destination).SubView(0, rows * cols));
        Launched?.Invoke($"gather rows {rows}×{cols}");
    }

    public void Sigmoid(Tensor x, Tensor y)
    {
        Shapes.Rows("sigmoid", 1, y.Length, ("x", x, false));
        int threads = Threads(y.Length);
        _sigmoid(threads, threads, View(x), View(y));
        Launched?.Invoke($"sigmoid {x.Length}");
    }

    public void NormalNoise(Tensor noise, ulong seed, StepValue step)
    {
        int threads = Threads(noise.Length);
        _normalNoise(threads, threads, View(noise), seed, RecordView(step.Record), step.Argument);
        Launched?.Invoke($"normal noise {noise.Length}");
    }

    public void Reparameterize(Tensor enc, Tensor noise, Tensor z, int rows, int latent)
    {
        Shapes.Latent("reparameterise", enc, rows, latent, ("noise", noise, latent), ("z", z, latent));
        int threads = Threads(rows * latent);
        _reparameterize(threads, threads, View(enc), View(noise), View(z).SubView(0, rows * latent), latent);
        Launched?.Invoke($"reparameterise {rows}×{latent}");
    }

    public void ReparameterizeBackward(Tensor enc, Tensor noise, Tensor dz, Tensor denc, Tensor rowKl, int rows, int latent, float klWeightOverRows)
    {
        Shapes.Latent("reparameterise backward", enc, rows, latent, ("noise", noise, latent), ("dz", dz, latent), ("denc", denc, 2 * latent), ("rowKl", rowKl, 1));
        int threads = Threads(rows);
        _reparameterizeBackward(threads, threads, View(enc), View(noise), View(dz), View(denc), View(rowKl).SubView(0, rows), latent, klWeightOverRows);
        Launched?.Invoke($"reparameterise backward + KL {rows}×{latent}");
    }

    public void KlRows(Tensor enc, Tensor rowKl, int rows, int latent)
    {
        Shapes.Latent("KL rows", enc, rows, latent, ("rowKl", rowKl, 1));
        int threads = Threads(rows);
        _klRows(threads, threads, View(enc), View(rowKl).SubView(0, rows), latent);
        Launched?.Invoke($"KL rows {rows}×{latent}");
    }

    public void Im2Col(Tensor images, Tensor cols, int count, ConvGeometry geometry)
    {
        Shapes.Conv("im2col", images, cols, null, count, geometry);
        int threads = Threads(count * geometry.OutPixels * geometry.PatchLength);
        _im2Col(threads, threads, SpecializedValue.New(geometry), count, View(images), View(cols));
        Launched?.Invoke($"im2col {Images(count, geometry)}");
    }

    public void Col2Im(Tensor cols, Tensor images, int count, ConvGeometry geometry, Tensor? reluOutput)
    {
        Shapes.Conv("col2im", images, cols, reluOutput, count, geometry);
        int threads = Threads(count * geometry.InPixels * geometry.Channels);
        _col2Im(threads, threads, SpecializedValue.New(geometry), count, View(cols), reluOutput is null ? 0 : 1,
            reluOutput is { } mask ? View(mask) : _unused, View(images));
        Launched?.Invoke($"col2im {Images(count, geometry)}");
    }

    public void AddBias(Tensor y, Tensor bias, int rows, int cols, Activation activation)
    {
        Shapes.Rows("bias", rows, cols, ("y", y, false)); Shapes.Rows("bias", 1, cols, ("bias", bias, false));
        int threads = Threads(rows * cols);
        _addBias(threads, threads, View(y), rows * cols, cols, View(bias), activation == Activation.Relu ? 1 : 0);
        Launched?.Invoke($"bias {rows}×{cols}");
    }

    public void ImportanceLogWeights(Tensor enc, Tensor noise, Tensor z, Tensor rowBce, Tensor logWeights, int sample, int rows, int latent)
    {
        Shapes.Latent("IWAE log-weights", enc, rows, latent, ("noise", noise, latent), ("z", z, latent), ("rowBce", rowBce, 1), ("logWeights", logWeights, sample + 1));
        int threads = Threads(rows);
        _logWeights(threads, threads, View(enc), View(noise), View(z), View(rowBce), View(logWeights), sample, rows, latent);
        Launched?.Invoke($"IWAE log-weights {rows}×{latent}");
    }

    public void NegativeLogMeanExp(Tensor logWeights, int samples, int rows, Tensor rowBound)
    {
        Shapes.LogMeanExp(logWeights, rowBound, samples, rows);
        int threads = Threads(rows);
        _negativeLogMeanExp(threads, threads, View(logWeights), samples, rows, View(rowBound));
        Launched?.Invoke($"log-mean-exp {samples}×{rows}");
    }

    public void Dispose()
    {
        _ledger.ReleaseAll();
        foreach (var buffer in _buffers) buffer.Dispose();
        _accelerator.Dispose();
        _context.Dispose();
    }
}
