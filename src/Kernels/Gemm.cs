using ILGPU;
using ILGPU.Runtime;

namespace GpuAe.Kernels;

/// <summary>What the GEMM does to each result before storing it (flags, combined).</summary>
[Flags]
public enum GemmEpilogue
{
    None = 0,
    AddBias = 1,   // c += bias[n]                      (dense forward)
    Relu = 2,      // c = max(c, 0)                     (dense forward + ReLU)
    ReluMask = 4,  // c = mask[m, n] > 0 ? c : 0        (ReLU backward fused into dX)
    RowSums = 8,   // bias[m] = Σ_k A(m, k), an output  (the bias gradient beside dW = dYᵀ·X: one launch instead of two)
}

/// <summary>
/// Shape and strides of one GEMM: C[M,N] (dense, row-major) = Σ_k A(m,k)·B(k,n), then the epilogue, where
/// A(m,k) = a[m·AStrideM + k·AStrideK] and B(k,n) = b[k·BStrideK + n·BStrideN]. The strides let one kernel
/// compute X·Wᵀ (forward), dY·W (input gradient) and dYᵀ·X (weight gradient) without transposing anything.
/// </summary>
public struct GemmArgs
{
    public int M, N, K;
    public int AStrideM, AStrideK, BStrideK, BStrideN;
    public GemmEpilogue Epilogue;
    /// <summary>Shared-memory kernels only: how much of K one group multiplies (a multiple of the tile depth). Less than K splits
    /// the product into ceil(K / KPerSplit) partial products, summed afterwards by <see cref="Gemm.AddSplits"/>.</summary>
    public int KPerSplit;
    /// <summary>CPU kernel only: 1 when N is a multiple of 8 and c, bias and mask start on multiples of 8 floats of their
    /// buffers, so that each row of a thread's 8 × 8 tile is stored (and its bias and mask read) as one Vec8.</summary>
    public int VectorStores;

    /// <summary>y[rows,out] = x[rows,in] · w[out,in]ᵀ</summary>
    public static GemmArgs Forward(int rows, int inF, int outF, GemmEpilogue epilogue) => new()
    { M = rows, N = outF, K = inF, AStrideM = inF, AStrideK = 1, BStrideK = 1, BStrideN = inF, Epilogue = epilogue };

    /// <summary>dx[rows,in] = dy[rows,out] · w[out,in]</summary>
    public static GemmArgs BackwardInput(int rows, int inF, int outF, GemmEpilogue epilogue) => new()
    { M = rows, N = inF, K = outF, AStrideM = outF, AStrideK = 1, BStrideK = inF, BStrideN = 1, Epilogue = epilogue };

    /// <summary>dw[out,in] = dy[rows,out]ᵀ · x[rows,in], and with <see cref="GemmEpilogue.RowSums"/> db[out] = Σ_rows dy
    /// (A = dyᵀ, so its row sums are the bias gradient).</summary>
    public static GemmArgs BackwardWeights(int rows, int inF, int outF, GemmEpilogue epilogue) => new()
    { M = outF, N = inF, K = rows, AStrideM = 1, AStrideK = outF, BStrideK = inF, BStrideN = 1, Epilogue = epilogue };
}

/// <summary>Eight floats held in registers: one row of a thread's 8×8 tile of C, or the 8 values of B it multiplies.</summary>
public struct Vec8
{
    /// <summary>Floats per Vec8: a view is read as Vec8s only from a start on a multiple of this.</summary>
    public const int Length = 8;

    public float E0, E1, E2, E3, E4, E5, E6, E7;

    public Vec8(float e0, float e1, float e2, float e3, float e4, float e5, float e6, float e7)
    { E0 = e0; E1 = e1; E2 = e2; E3 = e3; E4 = e4; E5 = e5; E6 = e6; E7 = e7; }

    /// <summary>this += s · b (b by reference: the CPU kernel passes it straight from the panel, uncopied)</summary>
    public void MultiplyAdd(float s, in Vec8 b)
    {
        E0 += s * b.E0; E1 += s * b.E1; E2 += s * b.E2; E3 += s * b.E3;
        E4 += s * b.E4; E5 += s * b.E5; E6 += s * b.E6; E7 += s * b.E7;
    }

    public void Add(in Vec8 b)
    {
        E0 += b.E0; E1 += b.E1; E2 += b.E2; E3 += b.E3; E4 += b.E4; E5 += b.E5; E6 += b.E6; E7 += b.E7;
    }

    /// <summary><see cref="Rows.Relu"/> element by element.</summary>
    public readonly Vec8 Relu() => new(Rows.Relu(E0), Rows.Relu(E1), Rows.Relu(E2), Rows.Relu(E3),
        Rows.Relu(E4), Rows.Relu(E5), Rows.Relu(E6), Rows.Relu(E7));

    /// <summary><see cref="Rows.KeepWherePositive"/> element by element: e where mask &gt; 0, else 0 (the ReLU backward).</summary>
    public readonly Vec8 KeepWherePositive(in Vec8 mask) => new(Rows.KeepWherePositive(E0, mask.E0), Rows.KeepWherePositive(E1, mask.E1),
        Rows.KeepWherePositive(E2, mask.E2), Rows.KeepWherePositive(E3, mask.E3), Rows.KeepWherePositive(E4, mask.E4),
        Rows.KeepWherePositive(E5, mask.E5), Rows.KeepWherePositive(E6, mask.E6), Rows.KeepWherePositive(E7, mask.E7));

    public readonly float this[int j] => j switch
    { 0 => E0, 1 => E1, 2 => E2, 3 => E3, 4 => E4, 5 => E5, 6 => E6, _ => E7 };
}

/// <summary>One operand of the CPU GEMM as <see cref="Gemm.PackOperands"/> reads it: X(r, k) = x[r·StrideRow + k·StrideK],
/// Rows × Depth. Aligned (1 or 0): x starts on a multiple of 8 floats of its buffer, so whole Vec8s can be read from
/// it (ArrayView.Cast rounds a view's start down to a whole element of the new type).</summary>
public struct PackArgs
{
    public int Aligned, Rows, Depth, StrideRow, StrideK;

    /// <summary>8 × 8 blocks to pack: panels of 8 rows × <see cref="Gemm.PanelDepth"/>(Depth) / 8.</summary>
    public readonly int Blocks => (Rows + Gemm.Tile - 1) / Gemm.Tile * ((Gemm.PanelDepth(Depth) + Gemm.Tile - 1) / Gemm.Tile);

    /// <summary>Floats of the packed panels.</summary>
    public readonly int PanelLength => (Rows + Gemm.Tile - 1) / Gemm.Tile * Gemm.Tile * Gemm.PanelDepth(Depth);
}

/// <summary>Four consecutive steps of k of one operand panel (4 × 8 floats): what the CPU GEMM reads per view access.</summary>
public struct Vec8x4
{
    public Vec8 K0, K1, K2, K3;
}

/// <summary>Four floats in registers: a thread's share of one shared-memory tile, loaded ahead of its use.</summary>
public struct Vec4
{
    public float E0, E1, E2, E3;
}

/// <summary>The dense layers' GEMM family: a packed, register-tiled GEMM for the CPU accelerator, a shared-memory tiled GEMM for
/// GPUs, both with the same fused epilogues, and the bias-gradient reduction.</summary>
public static class Gemm
{
    /// <summary>Side of the C tile one thread of the CPU kernel computes, and the width of an operand panel.</summary>
    public const int Tile = 8;

    // ---- the CPU accelerator's kernel: packed panels, 8 × 8 register tiles ----------------------------------------
    //
    // ILGPU runs kernels on the CPU as the original .NET method, and every ArrayView access costs a range check and a
    // walk from the view to its buffer's address. Loading A and B one float at a time, through strides, therefore
    // spends more time addressing than multiplying (3–5 GFLOP/s). Packing both operands first into panels of 8, so
    // that the values of A and of B four steps of k need are one 128-byte Vec8x4 each, read by reference, makes it two
    // view accesses per 256 multiply-adds; the packing reads each operand once (O(MK + KN) against the GEMM's O(MNK)).
    // Measured on 128×784×256 (2 cores): strided 6 GFLOP/s; panels read one k at a time by value 13; by reference 16;
    // four k per access 20 (eight: 11, and a struct holding the 8×8 accumulators: 11 — both spill worse).

    /// <summary>Depth of a packed panel: K rounded up to the 4 steps the kernel takes per access (the rest zeros).</summary>
    public static int PanelDepth(int k) => (k + 3) / 4 * 4;

    /// <summary>Packs both operands of a GEMM in one launch (a launch costs the CPU accelerator 40–80 µs): grid-stride
    /// over the 8 × 8 blocks of A, then those of B; see <see cref="PackBlock"/>.</summary>
    public static void PackOperands(Index1D thread, int threads, ArrayView<float> a, PackArgs aArgs, ArrayView<float> aPanels,
        ArrayView<float> b, PackArgs bArgs, ArrayView<float> bPanels)
    {
        int aBlocks = aArgs.Blocks, total = aBlocks + bArgs.Blocks;
        for (int i = thread; i < total; i += threads)
        {
            if (i < aBlocks) PackBlock(i, a, aArgs, aPanels);
            else PackBlock(i - aBlocks, b, bArgs, bPanels);
        }
    }

    /// <summary>Copies block i of X(r, k) = x[r·StrideRow + k·StrideK] (Rows × Depth) into panels of 8 rows:
    /// panels[(p·D + k)·8 + j] = X(8p + j, k) with D = <see cref="PanelDepth"/>(Depth), zero past the last row and
    /// the last k; block i covers panel p = i / (D/8) and 8 steps of k. A whole block of a row-major X (StrideK = 1)
    /// is read as 8 Vec8 rows and transposed in registers; of a column-major X (StrideRow = 1, as dYᵀ in the weight
    /// gradient) it is 8 Vec8 copies; edge blocks, other strides and vectors that would not start on a multiple of 8
    /// floats go element by element.</summary>
    static void PackBlock(int i, ArrayView<float> x, PackArgs args, ArrayView<float> panels)
    {
        var panels8 = panels.Cast<Vec8>();
        var x8 = x.Cast<Vec8>();
        int rows = args.Rows, depth = args.Depth, strideRow = args.StrideRow, strideK = args.StrideK;
        int panelDepth = PanelDepth(depth), kBlocks = (panelDepth + Tile - 1) / Tile;
        int p = i / kBlocks, k0 = (i - p * kBlocks) * Tile;
        int r0 = p * Tile, first = p * panelDepth + k0, at = r0 * strideRow + k0 * strideK;
        bool vectors = args.Aligned != 0 && r0 + Tile <= rows && k0 + Tile <= depth && at % Tile == 0;
        if (vectors && strideK == 1 && strideRow % Tile == 0)
        {
            int v = at / Tile, s = strideRow / Tile; // in Vec8s
            Vec8 x0 = x8[v], x1 = x8[v + s], x2 = x8[v + 2 * s], x3 = x8[v + 3 * s];
            Vec8 x4 = x8[v + 4 * s], x5 = x8[v + 5 * s], x6 = x8[v + 6 * s], x7 = x8[v + 7 * s];
            panels8[first + 0] = new Vec8(x0.E0, x1.E0, x2.E0, x3.E0, x4.E0, x5.E0, x6.E0, x7.E0);
            panels8[first + 1] = new Vec8(x0.E1, x1.E1, x2.E1, x3.E1, x4.E1, x5.E1, x6.E1, x7.E1);
            panels8[first + 2] = new Vec8(x0.E2, x1.E2, x2.E2, x3.E2, x4.E2, x5.E2, x6.E2, x7.E2);
            panels8[first + 3] = new Vec8(x0.E3, x1.E3, x2.E3, x3.E3, x4.E3, x5.E3, x6.E3, x7.E3);
            panels8[first + 4] = new Vec8(x0.E4, x1.E4, x2.E4, x3.E4, x4.E4, x5.E4, x6.E4, x7.E4);
            panels8[first + 5] = new Vec8(x0.E5, x1.E5, x2.E5, x3.E5, x4.E5, x5.E5, x6.E5, x7.E5);
            panels8[first + 6] = new Vec8(x0.E6, x1.E6, x2.E6, x3.E6, x4.E6, x5.E6, x6.E6, x7.E6);
            panels8[first + 7] = new Vec8(x0.E7, x1.E7, x2.E7, x3.E7, x4.E7, x5.E7, x6.E7, x7.E7);
        }
        else if (vectors && strideRow == 1 && strideK % Tile == 0)
        {
            for (int k = 0; k < Tile; k++) panels8[first + k] = x8[(at + k * strideK) / Tile];
        }
        else
        {
            for (int k = k0; k < Math.Min(k0 + Tile, panelDepth); k++)
            {
                if (k >= depth) { panels8[p * panelDepth + k] = default; continue; }
                int a = r0 * strideRow + k * strideK;
                panels8[p * panelDepth + k] = new Vec8(
                    r0 + 0 < rows ? x[a] : 0f, r0 + 1 < rows ? x[a + strideRow] : 0f,
                    r0 + 2 < rows ? x[a + 2 * strideRow] : 0f, r0 + 3 < rows ? x[a + 3 * strideRow] : 0f,
                    r0 + 4 < rows ? x[a + 4 * strideRow] : 0f, r0 + 5 < rows ? x[a + 5 * strideRow] : 0f,
                    r0 + 6 < rows ? x[a + 6 * strideRow] : 0f, r0 + 7 < rows ? x[a + 7 * strideRow] : 0f);
            }
        }
    }

    /// <summary>C = epilogue(A·B) from packed operands: aPanels holds A's rows (M × K) and bPanels B's columns (K × N),
    /// both as <see cref="PackBlock"/> writes them. Each 8 × 8 tile of C is one thread's work for the whole of K: per
    /// four steps of k it takes one Vec8x4 of A and one of B by reference and does 256 multiply-adds. Grid-stride over
    /// the tiles; consecutive tiles share the panel of the operand with more panels, so the threads working side by side
    /// read it from cache. With <see cref="GemmEpilogue.RowSums"/> the threads of the first column of tiles also add
    /// up their 8 rows of A into bias.</summary>
    public static void PackedTiled(Index1D thread, int threads, GemmArgs g, ArrayView<float> aPanels, ArrayView<float> bPanels,
        ArrayView<float> bias, ArrayView<float> mask, ArrayView<float> c)
    {
        var a4 = aPanels.Cast<Vec8x4>();
        var b4 = bPanels.Cast<Vec8x4>();
        int tilesM = (g.M + Tile - 1) / Tile, tilesN = (g.N + Tile - 1) / Tile, steps = PanelDepth(g.K) / 4;
        for (int t = thread; t < tilesM * tilesN; t += threads)
        {
            int tm, tn;
            if (tilesM <= tilesN) { tn = t / tilesM; tm = t - tn * tilesM; }
            else { tm = t / tilesN; tn = t - tm * tilesN; }
            int aBase = tm * steps, bBase = tn * steps;
            Vec8 c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
            for (int s = 0; s < steps; s++)
            {
                ref readonly var a = ref a4[aBase + s];
                ref readonly var b = ref b4[bBase + s];
                // C += A(:, k) · B(k, :) for the four k of this step, written out: the accumulators stay separate locals.
                c0.MultiplyAdd(a.K0.E0, b.K0); c1.MultiplyAdd(a.K0.E1, b.K0); c2.MultiplyAdd(a.K0.E2, b.K0); c3.MultiplyAdd(a.K0.E3, b.K0);
                c4.MultiplyAdd(a.K0.E4, b.K0); c5.MultiplyAdd(a.K0.E5, b.K0); c6.MultiplyAdd(a.K0.E6, b.K0); c7.MultiplyAdd(a.K0.E7, b.K0);
                c0.MultiplyAdd(a.K1.E0, b.K1); c1.MultiplyAdd(a.K1.E1, b.K1); c2.MultiplyAdd(a.K1.E2, b.K1); c3.MultiplyAdd(a.K1.E3, b.K1);
                c4.MultiplyAdd(a.K1.E4, b.K1); c5.MultiplyAdd(a.K1.E5, b.K1); c6.MultiplyAdd(a.K1.E6, b.K1); c7.MultiplyAdd(a.K1.E7, b.K1);
                c0.MultiplyAdd(a.K2.E0, b.K2); c1.MultiplyAdd(a.K2.E1, b.K2); c2.MultiplyAdd(a.K2.E2, b.K2); c3.MultiplyAdd(a.K2.E3, b.K2);
                c4.MultiplyAdd(a.K2.E4, b.K2); c5.MultiplyAdd(a.K2.E5, b.K2); c6.MultiplyAdd(a.K2.E6, b.K2); c7.MultiplyAdd(a.K2.E7, b.K2);
                c0.MultiplyAdd(a.K3.E0, b.K3); c1.MultiplyAdd(a.K3.E1, b.K3); c2.MultiplyAdd(a.K3.E2, b.K3); c3.MultiplyAdd(a.K3.E3, b.K3);
                c4.MultiplyAdd(a.K3.E4, b.K3); c5.MultiplyAdd(a.K3.E5, b.K3); c6.MultiplyAdd(a.K3.E6, b.K3); c7.MultiplyAdd(a.K3.E7, b.K3);
            }
            int m0 = tm * Tile, n0 = tn * Tile;
            if (g.VectorStores != 0)
            {
                // A row of the tile per view access, not a float: for small K the stores were most of the accesses.
                var c8 = c.Cast<Vec8>();
                var mask8 = mask.Cast<Vec8>();
                var biasRow = (g.Epilogue & GemmEpilogue.AddBias) != 0 ? bias.Cast<Vec8>()[n0 / Tile] : default;
                StoreRow8(g, m0 + 0, n0, c0, biasRow, mask8, c8); StoreRow8(g, m0 + 1, n0, c1, biasRow, mask8, c8);
                StoreRow8(g, m0 + 2, n0, c2, biasRow, mask8, c8); StoreRow8(g, m0 + 3, n0, c3, biasRow, mask8, c8);
                StoreRow8(g, m0 + 4, n0, c4, biasRow, mask8, c8); StoreRow8(g, m0 + 5, n0, c5, biasRow, mask8, c8);
                StoreRow8(g, m0 + 6, n0, c6, biasRow, mask8, c8); StoreRow8(g, m0 + 7, n0, c7, biasRow, mask8, c8);
            }
            else
            {
                StoreRow(g, m0 + 0, n0, c0, bias, mask, c); StoreRow(g, m0 + 1, n0, c1, bias, mask, c);
                StoreRow(g, m0 + 2, n0, c2, bias, mask, c); StoreRow(g, m0 + 3, n0, c3, bias, mask, c);
                StoreRow(g, m0 + 4, n0, c4, bias, mask, c); StoreRow(g, m0 + 5, n0, c5, bias, mask, c);
                StoreRow(g, m0 + 6, n0, c6, bias, mask, c); StoreRow(g, m0 + 7, n0, c7, bias, mask, c);
            }
            if ((g.Epilogue & GemmEpilogue.RowSums) != 0 && tn == 0) StorePanelRowSums(g, a4, aBase, steps, m0, bias);
        }
    }

    /// <summary>bias[m0 + j] = Σ_k A(m0 + j, k) for the 8 rows of one A panel, k in order (the padding is zeros).</summary>
    static void StorePanelRowSums(GemmArgs g, ArrayView<Vec8x4> a4, int aBase, int steps, int m0, ArrayView<float> bias)
    {
        Vec8 sums = default;
        for (int s = 0; s < steps; s++)
        {
            ref readonly var a = ref a4[aBase + s];
            sums.Add(a.K0); sums.Add(a.K1); sums.Add(a.K2); sums.Add(a.K3);
        }
        for (int j = 0; j < Tile && m0 + j < g.M; j++) bias[m0 + j] = sums[j];
    }

    /// <summary>The epilogue of <see cref="Store"/> on a whole row of 8 (see <see cref="GemmArgs.VectorStores"/>).</summary>
    static void StoreRow8(GemmArgs g, int m, int n0, Vec8 row, in Vec8 bias, ArrayView<Vec8> mask8, ArrayView<Vec8> c8)
    {
        if (m >= g.M) return;
        int at = (m * g.N + n0) / Tile;
        if ((g.Epilogue & GemmEpilogue.AddBias) != 0) row.Add(bias);
        if ((g.Epilogue & GemmEpilogue.Relu) != 0) row = row.Relu();
        if ((g.Epilogue & GemmEpilogue.ReluMask) != 0) row = row.KeepWherePositive(mask8[at]);
        c8[at] = row;
    }

    static void StoreRow(GemmArgs g, int m, int n0, Vec8 row, ArrayView<float> bias, ArrayView<float> mask, ArrayView<float> c)
    {
        if (m >= g.M) return;
        for (int j = 0; j < Tile; j++)
        {
            int n = n0 + j;
            if (n >= g.N) return;
            Store(g, m, n, row[j], bias, mask, c);
        }
    }

    /// <summary>Applies the epilogue to C[m, n] = v and stores it; the caller has checked m &lt; M and n &lt; N.</summary>
    static void Store(GemmArgs g, int m, int n, float v, ArrayView<float> bias, ArrayView<float> mask, ArrayView<float> c)
    {
        if ((g.Epilogue & GemmEpilogue.AddBias) != 0) v += bias[n];
        if ((g.Epilogue & GemmEpilogue.Relu) != 0) v = Rows.Relu(v);
        if ((g.Epilogue & GemmEpilogue.ReluMask) != 0) v = Rows.KeepWherePositive(v, mask[m * g.N + n]);
        c[m * g.N + n] = v;
    }

    // ---- the GPU kernel: shared-memory tiles ----------------------------------------------------------------------
    //
    // Per step along K a group of 16 × 16 threads copies a tile of A and of B into shared memory (every element read
    // from global memory once per group instead of once per thread that needs it) and each thread multiplies its share
    // of C from there, while the next tiles are already on their way into registers. ILGPU 1.5.3 does not unroll
    // loops, so the tile copies are written out element by element (a loop over a Vec4 indexer compiles to a jump
    // table per element). The variants measured against it and removed are in BENCHMARKS.md.

    /// <summary>Threads per side of a group (16 × 16 = 256).</summary>
    public const int GroupThreads = 16;
    const int GroupSize = GroupThreads * GroupThreads;

    /// <summary><see cref="SharedTiled"/>: side of its C tile and depth of its A and B tiles (each thread 2 × 2 results).</summary>
    public const int GroupTile = 32;
    const int SharedStride = GroupTile + 1; // one float of padding per row: the column-wise shared stores hit 32 different banks

    /// <summary>
    /// The GEMM for GPUs with 32 × 32 tiles: thread (tx, ty) of a 16 × 16 group owns rows ty and ty + 16, columns tx and
    /// tx + 16 of the group's tile of C (neighbouring threads store neighbouring columns: coalesced), and per step of
    /// k reads 2 values of A and 2 of B from shared memory for 4 multiply-adds.
    /// Launch with grid (ceil(N/32), ceil(M/32), splits) and group (16, 16, 1). Group z multiplies K from
    /// z·KPerSplit; with several splits each writes its partial product, unfinished (no epilogue), to c[z·M·N ..],
    /// and its partial row sums of A (<see cref="GemmEpilogue.RowSums"/>) to bias[z·M ..].
    /// Splitting K is what fills a GPU when C is small: 128 × 256 is only 32 tiles for a chip of 132 multiprocessors.
    /// </summary>
    public static void SharedTiled(GemmArgs g, ArrayView<float> a, ArrayView<float> b,
        ArrayView<float> bias, ArrayView<float> mask, ArrayView<float> c)
    {
        var sharedA = SharedMemory.Allocate<float>(SharedTileLength); // [k][m]
        var sharedB = SharedMemory.Allocate<float>(SharedTileLength); // [k][n]
        int tx = Group.IdxX, ty = Group.IdxY;
        int m0 = Grid.IdxY * GroupTile, n0 = Grid.IdxX * GroupTile;
        int kBegin = Grid.IdxZ * g.KPerSplit, kEnd = Math.Min(g.K, kBegin + g.KPerSplit);
        var p = MultiplyGroupTile(g, a, b, m0, n0, kBegin, kEnd, sharedA, sharedB);
        var output = c.SubView(Grid.IdxZ * g.M * g.N, g.M * g.N);
        int mA = m0 + ty, mB = mA + GroupThreads, nA = n0 + tx, nB = nA + GroupThreads;
        if (mA < g.M && nA < g.N) Store(g, mA, nA, p.C00, bias, mask, output);
        if (mA < g.M && nB < g.N) Store(g, mA, nB, p.C01, bias, mask, output);
        if (mB < g.M && nA < g.N) Store(g, mB, nA, p.C10, bias, mask, output);
        if (mB < g.M && nB < g.N) Store(g, mB, nB, p.C11, bias, mask, output);
        if ((g.Epilogue & GemmEpilogue.RowSums) != 0 && Grid.IdxX == 0 && tx == 0)
        {
            // Every thread has summed its two rows of A over this split's K; the first column of groups stores them.
            if (mA < g.M) bias[Grid.IdxZ * g.M + mA] = p.RowSum0;
            if (mB < g.M) bias[Grid.IdxZ * g.M + mB] = p.RowSum1;
        }
    }

    /// <summary>Floats of one shared tile of <see cref="MultiplyGroupTile"/> (32 × 33, padded).</summary>
    internal const int SharedTileLength = GroupTile * SharedStride;

    /// <summary>The 16 × 16 group's 32 × 32 tile of C at (m0, n0), summed over k in [kBegin, kEnd), before any epilogue:
    /// this thread's 2 × 2 results and its two rows' sums of A (rows m0 + ty, m0 + ty + 16; columns n0 + tx,
    /// n0 + tx + 16). sharedA and sharedB: <see cref="SharedTileLength"/> floats each, allocated by the kernel.
    /// The core of <see cref="SharedTiled"/>, shared with the fused step's weight gradients (<see cref="FusedDense"/>).</summary>
    internal static Products2x2 MultiplyGroupTile(GemmArgs g, ArrayView<float> a, ArrayView<float> b, int m0, int n0, int kBegin, int kEnd,
        ArrayView<float> sharedA, ArrayView<float> sharedB)
    {
        int tx = Group.IdxX, ty = Group.IdxY, thread = ty * GroupThreads + tx;
        var next = new StagedTiles();
        next.Load(g, a, b, m0, n0, kBegin, kEnd, thread);
        var rowsA = sharedA.SubView(ty);
        var colsB = sharedB.SubView(tx);
        var p = new Products2x2();
        for (int k0 = kBegin; k0 < kEnd; k0 += GroupTile)
        {
            // The first barrier: everyone has finished multiplying the previous tiles; the second: this one is stored.
            Group.Barrier(); next.Store(g, sharedA, sharedB, thread); Group.Barrier();
            if (k0 + GroupTile < kEnd) next.Load(g, a, b, m0, n0, k0 + GroupTile, kEnd, thread);
            p.MultiplyTile(rowsA, colsB);
        }
        return p;
    }

    /// <summary>A thread's share of one 32-deep tile of A and of B in <see cref="SharedTiled"/>, in registers between its
    /// load from global memory and its store to shared memory.</summary>
    struct StagedTiles
    {
        Vec4 _a, _b;

        /// <summary>Issues the loads of the tiles starting at k0 (zeros at k ≥ kEnd and past the last row).</summary>
        public void Load(GemmArgs g, ArrayView<float> a, ArrayView<float> b, int m0, int n0, int k0, int kEnd, int thread)
        {
            _a = LoadTile(a, g.M, kEnd, m0, k0, g.AStrideM, g.AStrideK, thread);
            _b = LoadTile(b, g.N, kEnd, n0, k0, g.BStrideN, g.BStrideK, thread);
        }

        public readonly void Store(GemmArgs g, ArrayView<float> sharedA, ArrayView<float> sharedB, int thread)
        {
            StoreTile(sharedA, _a, g.AStrideK, thread);
            StoreTile(sharedB, _b, g.BStrideK, thread);
        }
    }

    /// <summary>A thread's 2 × 2 results in <see cref="SharedTiled"/> and the sums of its two rows of A.</summary>
    internal struct Products2x2
    {
        public float C00, C01, C10, C11, RowSum0, RowSum1;

        /// <summary>All 32 steps of k of the tiles in shared memory (rowsA, colsB: the thread's row and column of them).
        /// Eight steps per iteration, written out (ILGPU does not unroll loops): one address computation and one loop
        /// test per eight steps instead of per step, 6–9 % faster epochs on an H200 (BENCHMARKS.md, run 9).</summary>
        public void MultiplyTile(ArrayView<float> rowsA, ArrayView<float> colsB)
        {
            for (int k = 0; k < GroupTile; k += 8)
            {
                var av = rowsA.SubView(k * SharedStride);
                var bv = colsB.SubView(k * SharedStride);
                MultiplyAdd(av, bv, 0); MultiplyAdd(av, bv, SharedStride);
                MultiplyAdd(av, bv, 2 * SharedStride); MultiplyAdd(av, bv, 3 * SharedStride);
                MultiplyAdd(av, bv, 4 * SharedStride); MultiplyAdd(av, bv, 5 * SharedStride);
                MultiplyAdd(av, bv, 6 * SharedStride); MultiplyAdd(av, bv, 7 * SharedStride);
            }
        }

        /// <summary>One step of k: A's values for rows ty, ty + 16 at av[offset], av[offset + 16], B's for columns tx,
        /// tx + 16 at bv[offset], bv[offset + 16]. Two adds for the row sums beside four shared loads: cheaper than
        /// branching on RowSums.</summary>
        public void MultiplyAdd(ArrayView<float> av, ArrayView<float> bv, int offset)
        {
            float a0 = av[offset], a1 = av[offset + GroupThreads], b0 = bv[offset], b1 = bv[offset + GroupThreads];
            C00 += a0 * b0; C01 += a0 * b1; C10 += a1 * b0; C11 += a1 * b1;
            RowSum0 += a0; RowSum1 += a1;
        }
    }

    /// <summary>c = epilogue(Σ_z partials[z·M·N + i]) for every i of C[M, N], the split products added in order
    /// (deterministic); with <see cref="GemmEpilogue.RowSums"/> also bias[m] = Σ_z partials[splits·M·N + z·M + m].
    /// Grid-stride over <paramref name="threads"/> threads.</summary>
    public static void AddSplits(Index1D thread, int threads, GemmArgs g, int splits, ArrayView<float> partials,
        ArrayView<float> bias, ArrayView<float> mask, ArrayView<float> c)
    {
        int size = g.M * g.N, rowSums = (g.Epilogue & GemmEpilogue.RowSums) != 0 ? g.M : 0;
        for (int i = thread; i < size + rowSums; i += threads)
        {
            if (i >= size)
            {
                bias[i - size] = SumStrided(partials, splits * size + i - size, g.M, splits);
                continue;
            }
            int m = i / g.N;
            Store(g, m, i - m * g.N, SumStrided(partials, i, size, splits), bias, mask, c);
        }
    }

    /// <summary>Σ_z x[at + z·stride] for z &lt; count, added in z order, eight loads issued before their adds: a GPU
    /// thread waits at the first use of a load and ILGPU does not unroll loops, so a plain loop waited one L2 round
    /// trip per split, and a product split 132 ways (a conv layer's weight gradient: K = 25,088 positions, C 32 × 9;
    /// the column sums) spent most of its time on an H200 here (BENCHMARKS.md).</summary>
    static float SumStrided(ArrayView<float> x, int at, int stride, int count)
    {
        float sum = 0f;
        int z = 0;
        for (; z + 8 <= count; z += 8)
        {
            float x0 = x[at + z * stride], x1 = x[at + (z + 1) * stride], x2 = x[at + (z + 2) * stride], x3 = x[at + (z + 3) * stride];
            float x4 = x[at + (z + 4) * stride], x5 = x[at + (z + 5) * stride], x6 = x[at + (z + 6) * stride], x7 = x[at + (z + 7) * stride];
            sum += x0; sum += x1; sum += x2; sum += x3; sum += x4; sum += x5; sum += x6; sum += x7;
        }
        for (; z < count; z++) sum += x[at + z * stride];
        return sum;
    }

    // Each thread copies 4 elements of a 32 × 32 tile (4 × 256). Element e = i·256 + thread is taken along whichever
    // direction of X is contiguous in memory, so that neighbouring threads read neighbouring addresses (coalesced):
    // along k when strideK is 1 (X row-major), along the rows otherwise.

    static float LoadTileElement(int i, ArrayView<float> x, int rows, int kEnd, int row0, int k0, int strideRow, int strideK, int thread)
    {
        int e = i * GroupSize + thread;
        int r = strideK == 1 ? e / GroupTile : e % GroupTile, d = strideK == 1 ? e % GroupTile : e / GroupTile;
        int row = row0 + r, k = k0 + d;
        return row < rows && k < kEnd ? x[row * strideRow + k * strideK] : 0f;
    }

    /// <summary>Reads this thread's 4 elements of the tile X(row0 + r, k0 + d) = x[row·strideRow + k·strideK] into
    /// registers, zero past the last row or at k ≥ kEnd (so the edge tiles need no other test).</summary>
    static Vec4 LoadTile(ArrayView<float> x, int rows, int kEnd, int row0, int k0, int strideRow, int strideK, int thread) => new()
    {
        E0 = LoadTileElement(0, x, rows, kEnd, row0, k0, strideRow, strideK, thread),
        E1 = LoadTileElement(1, x, rows, kEnd, row0, k0, strideRow, strideK, thread),
        E2 = LoadTileElement(2, x, rows, kEnd, row0, k0, strideRow, strideK, thread),
        E3 = LoadTileElement(3, x, rows, kEnd, row0, k0, strideRow, strideK, thread),
    };

    static void StoreTileElement(int i, float value, ArrayView<float> shared, int strideK, int thread)
    {
        int e = i * GroupSize + thread;
        int r = strideK == 1 ? e / GroupTile : e % GroupTile, d = strideK == 1 ? e % GroupTile : e / GroupTile;
        shared[d * SharedStride + r] = value;
    }

    /// <summary>Writes the 4 elements <see cref="LoadTile"/> read to the shared tile, k-major: shared[d·SharedStride + r].</summary>
    static void StoreTile(ArrayView<float> shared, Vec4 v, int strideK, int thread)
    {
        StoreTileElement(0, v.E0, shared, strideK, thread);
        StoreTileElement(1, v.E1, shared, strideK, thread);
        StoreTileElement(2, v.E2, shared, strideK, thread);
        StoreTileElement(3, v.E3, shared, strideK, thread);
    }

    /// <summary>The CPU kernel set's column sums: db[n] = Σ_r dy[r, n], one thread per column (grid-stride), rows in
    /// order. No group barriers, which the CPU accelerator pays for in operating-system waits.</summary>
    public static void ColumnSumsPerThread(Index1D thread, int threads, ArrayView<float> dy, int rows, int cols, ArrayView<float> db)
    {
        for (int n = thread; n < cols; n += threads)
        {
            float sum = 0f;
            for (int r = 0; r < rows; r++) sum += dy[r * cols + n];
            db[n] = sum;
        }
    }

    /// <summary>Rows of dy one thread of <see cref="ColumnSumsSplit"/> adds up: few, so that every group is short and the
    /// rows spread over the whole chip.</summary>
    public const int ColumnSumRowsPerThread = 4;

    /// <summary>The row phases of <see cref="ColumnSumsSplit"/>: the largest power of two with phases·width ≤ 256, where
    /// width = min(cols, 256) is the columns a group takes.</summary>
    public static int ColumnSumPhases(int cols)
    {
        int phases = 1;
        while (phases * 2 * Math.Min(cols, Loss.MaxGroup) <= Loss.MaxGroup) phases *= 2;
        return phases;
    }

    /// <summary>
    /// The GPU set's column sums db[c] = Σ_r dy[r, c] over dy[rows, cols], first of two launches: group (g, b) takes
    /// columns b·256 … (at most 256 of them, width w) and the rows from g·P·<see cref="ColumnSumRowsPerThread"/> with
    /// P = <see cref="ColumnSumPhases"/>(cols); thread t adds up column t % w at rows t / w, + P, … (neighbouring threads
    /// read neighbouring floats), then the P sums of each column are added in a fixed tree into partials[g·cols + c].
    /// A convolution's bias gradient sums batch × pixels rows (100,352 for the decoder's last layer) of a few columns:
    /// spread over many short groups, it is one pass over dy. Launch with grid (ceil(rows / (P·ColumnSumRowsPerThread)),
    /// ceil(cols / 256)) and group 256.
    /// </summary>
    public static void ColumnSumsSplit(ArrayView<float> dy, int rows, int cols, ArrayView<float> partials)
    {
        var sums = SharedMemory.Allocate<float>(Loss.MaxGroup);
        int t = Group.IdxX, phases = ColumnSumPhases(cols), width = Math.Min(cols, Loss.MaxGroup);
        int phase = t / width, c = Grid.IdxY * Loss.MaxGroup + t - phase * width;
        int begin = Grid.IdxX * phases * ColumnSumRowsPerThread, end = Math.Min(rows, begin + phases * ColumnSumRowsPerThread);
        float sum = 0f;
        if (phase < phases && c < cols)
            for (int r = begin + phase; r < end; r += phases) sum += dy[r * cols + c];
        sums[t] = sum;
        for (int half = phases / 2; half > 0; half /= 2)
        {
            Group.Barrier();
            if (phase < half) sums[t] += sums[t + half * width];
        }
        if (t < width && c < cols) partials[Grid.IdxX * cols + c] = sums[t]; // phase 0: this thread's own last sum
    }

    /// <summary>The second launch of the column sums: db[c] = Σ_g partials[g·cols + c] over the first launch's
    /// <paramref name="groups"/> row groups, one group per column (grid cols, group 256): strided, then a fixed tree.</summary>
    public static void ColumnSumsFinish(ArrayView<float> partials, int groups, int cols, ArrayView<float> db)
    {
        var sums = SharedMemory.Allocate<float>(Loss.MaxGroup);
        int t = Group.IdxX, threads = Group.DimX, c = Grid.IdxX;
        float sum = 0f;
        for (int g = t; g < groups; g += threads) sum += partials[g * cols + c];
        sums[t] = sum;
        for (int half = threads / 2; half > 0; half /= 2)
        {
            Group.Barrier();
            if (t < half) sums[t] += sums[t + half];
        }
        if (t == 0) db[c] = sums[0];
    }
}
