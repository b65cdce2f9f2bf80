using ILGPU;
using ILGPU.Runtime;

namespace GpuAe.Kernels;

/// <summary>The GEMM family's launchers (<see cref="Kernels.Gemm"/>): the dense layers' products, with their bias, ReLU and
/// bias-gradient epilogues, and the column sums.</summary>
public sealed partial class IlgpuBackend
{
    // The CPU kernel set: operands packed into panels, then the register-tiled product; column sums by a thread per column.
    Action<AcceleratorStream, Index1D, int, ArrayView<float>, PackArgs, ArrayView<float>, ArrayView<float>, PackArgs, ArrayView<float>>? _packOperands;
    Action<AcceleratorStream, Index1D, int, GemmArgs, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _packedGemm;
    Action<AcceleratorStream, Index1D, int, ArrayView<float>, int, int, ArrayView<float>>? _columnSumsPerThread;
    // The GPU kernel set: the shared-memory tiled product, split along K when C is small, and two-launch column sums.
    Action<AcceleratorStream, KernelConfig, GemmArgs, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _sharedGemm;
    Action<AcceleratorStream, Index1D, int, GemmArgs, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _addSplits;
    Action<AcceleratorStream, KernelConfig, ArrayView<float>, int, int, ArrayView<float>>? _columnSumsSplit, _columnSumsFinish;

    /// <summary>The shared-memory GEMM splits K when C has fewer 32 × 32 tiles than this: by default the number of
    /// multiprocessors, so that every one gets work. Tests raise it to exercise the split path on small shapes.</summary>
    public int SplitBelowGroups { get; set; }

    // Scratch buffers, grown to the largest size needed, then reused (see Scratch): the split-K partial products, the
    // packed GEMM's operands and the GPU set's partial column sums.
    MemoryBuffer1D<float, Stride1D.Dense>? _splitPartials, _panelsA, _panelsB, _columnPartials;

    void LoadGemm()
    {
        if (KernelSet == KernelSet.Cpu)
        {
            Load(out _packOperands, Kernels.Gemm.PackOperands);
            Load(out _packedGemm, Kernels.Gemm.PackedTiled);
            Load(out _columnSumsPerThread, Kernels.Gemm.ColumnSumsPerThread);
        }
        else
        {
            Load(out _sharedGemm, Kernels.Gemm.SharedTiled);
            Load(out _addSplits, Kernels.Gemm.AddSplits);
            Load(out _columnSumsSplit, Kernels.Gemm.ColumnSumsSplit);
            Load(out _columnSumsFinish, Kernels.Gemm.ColumnSumsFinish);
        }
        SplitBelowGroups = _accelerator.NumMultiprocessors;
    }

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
        _packOperands!(Stream, threads, threads, View(a), aArgs, aPanels, View(b), bArgs, bPanels);
        int t = Kernels.Gemm.Tile;
        threads = Threads((g.M + t - 1) / t * ((g.N + t - 1) / t));
        _packedGemm(Stream, threads, threads, g, aPanels, bPanels, bias, mask, View(c));
    }

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
            _sharedGemm!(Stream, new KernelConfig(new Index3D(tiles.X, tiles.Y, 1), group), g, a, b, bias, mask, c);
            return;
        }
        _sharedGemm!(Stream, new KernelConfig(new Index3D(tiles.X, tiles.Y, splits), group), g with { Epilogue = g.Epilogue & GemmEpilogue.RowSums },
            a, b, rowSums > 0 ? partials.SubView(splits * size, splits * rowSums) : _unused, _unused, partials);
        int threads = Threads(size + rowSums);
        _addSplits!(Stream, threads, threads, g, splits, partials, bias, mask, c);
    }

    /// <summary>The most 32-deep tiles of K one group of the shared-memory GEMM multiplies while the chip has room for more groups.</summary>
    const int LongestChain = 8;

    /// <summary>How many ways the shared-memory GEMM splits K, for C of <paramref name="tiles"/> 32 × 32 tiles and K of
    /// <paramref name="kTiles"/> tiles. As many splits as fill the chip (one group per multiprocessor: splitBelow),
    /// down to one 32-deep tile each: a group's steps along K are a serial chain (barrier, shared loads, multiply-adds),
    /// so even the AE's small GEMMs are faster split (BENCHMARKS.md). Then, where the chip would still hold more groups
    /// (up to four per multiprocessor), more splits, so that no group chains more than <see cref="LongestChain"/>
    /// tiles: a conv layer's weight gradient (C 64 × 288: 18 tiles, K = 6,272 positions) was slow on an H200 as 8
    /// splits of 25 tiles (BENCHMARKS.md). The dense AE's products split as before.</summary>
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
            _columnSumsPerThread(Stream, threads, threads, View(dy), rows, outFeatures, View(db));
        }
        else
        {
            // Two launches over the whole chip (Gemm.ColumnSumsSplit; groups of 256, as every kernel of the GPU set).
            // The bias gradient of the conv decoder's last layer, 100,352 rows × 1, was slower on an H200 as a split-K
            // GEMM against a vector of ones, and far slower with a group per column (BENCHMARKS.md).
            int rowsPerGroup = Kernels.Gemm.ColumnSumPhases(outFeatures) * Kernels.Gemm.ColumnSumRowsPerThread;
            int groups = (rows + rowsPerGroup - 1) / rowsPerGroup, blocks = (outFeatures + Loss.MaxGroup - 1) / Loss.MaxGroup;
            var partials = Scratch(ref _columnPartials, groups * outFeatures);
            _columnSumsSplit!(Stream, new KernelConfig(new Index2D(groups, blocks), new Index2D(Loss.MaxGroup, 1)), View(dy), rows, outFeatures, partials);
            _columnSumsFinish!(Stream, new KernelConfig(outFeatures, Loss.MaxGroup), partials, groups, outFeatures, View(db));
        }
        Launched?.Invoke($"column sums {rows}×{outFeatures}");
    }
}
