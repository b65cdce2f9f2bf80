using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace GpuAe.Simd;

/// <summary>What the GEMM applies to each element of C as it finishes a tile: C = act(C + Bias[Offset + column]), the
/// dense layers' bias and ReLU (ReLU keeps v only where v &gt; 0, as <see cref="GpuAe.Kernels.Rows.Relu"/>), while the
/// tile is still in cache instead of in a second pass over C: the same two operations per element, so the same bits.</summary>
public readonly record struct BiasEpilogue(float[] Bias, int Offset, bool Relu);

/// <summary>The ReLU backward applied to C as the GEMM finishes each tile: C keeps an element only where the ReLU's output
/// there, Output[Offset + the element's offset in C], is &gt; 0 (<see cref="GpuAe.Kernels.Rows.KeepWherePositive"/>; the
/// output laid out as C). A layer's input gradient, masked while its tile is in cache instead of in a second pass over
/// C and the output: the same select per element, so the same bits.</summary>
public readonly record struct ReluMask(float[] Output, int Offset);

/// <summary>A matrix read through strides: element (i, j) is Data[Offset + i·Row + j·Column].</summary>
public readonly record struct Strided(float[] Data, int Offset, int Row, int Column)
{
    public Strided Transposed => new(Data, Offset, Column, Row);
    public ref float At(int i, int j) => ref Data[Offset + i * Row + j * Column];
}

/// <summary>
/// C[M,N] = Σ_k A(m,k)·B(k,n) on the host with SIMD, in the manner of BLIS/OpenBLAS: C is cut into register tiles of
/// <c>MR</c> rows × <c>NR</c> columns (NR = 2 vectors); a tile keeps its MR·2 accumulators in registers for the whole K
/// loop and takes, per k, two vectors of B and MR broadcast elements of A. B is read straight from memory when its rows
/// are contiguous, and otherwise (Wᵀ in a forward layer, by 8×8 register transposes; a partial last panel) first packed
/// into K×NR panels, which removes the transpose the forward pass used to make and the cache-set conflicts of reading a
/// 1 KB-strided column block. When C is narrower than one panel (the 2-, 4- and 9-wide outputs of the models) the product is
/// computed transposed, Cᵀ = Bᵀ·Aᵀ, so that the vectors run along the long side instead of falling to scalar code.
///
/// Every element of C is one accumulator that takes its K products in order, each through one fused multiply-add:
/// exactly the scalar chain <c>acc = fma(A(m,k), B(k,n), acc)</c> for k = 0 … K−1, whichever tile, panel,
/// orientation, vector width or thread computes it. So the result is bit-identical on every vector path and for any
/// number of threads (tested against that scalar chain).
/// </summary>
public sealed class SimdGemm
{
    // Scratch per block of a parallel loop (block i uses slot i, whichever thread runs it), grown on demand and kept:
    // packed B panels, a zero-padded copy of a partial row block of A, and one tile for outputs written through a
    // temporary (partial tiles, transposed C).
    readonly float[][] _panels, _rowsOfA, _tile;

    public SimdGemm(int threads)
    {
        _panels = new float[threads][]; _rowsOfA = new float[threads][]; _tile = new float[threads][];
        for (int i = 0; i < threads; i++) { _panels[i] = []; _rowsOfA[i] = []; _tile[i] = []; }
    }

    /// <summary>Tile rows for a vector type: 8 × 2 vectors of 16 = 16 accumulators + 2 of B + 1 broadcast of the 32
    /// AVX-512 registers; 6 × 2 vectors of 8 = 12 + 3 of the 16 AVX2 registers. 8 × 2 measured fastest of 4×2 (the old
    /// kernel), 6×4, 8×3, 12×2 and 14×2 on the AE's GEMM shapes (dev machine, AMD EPYC, AVX-512).</summary>
    static int TileRows<V>() where V : struct, IVector<V> => typeof(V) == typeof(Vec256) ? 6 : 8;

    /// <param name="epilogue">the bias (and ReLU) applied to C's columns as each tile is finished, or null</param>
    /// <param name="mask">the ReLU backward applied to C's elements as each tile is finished, or null</param>
    public void Multiply(VectorPath path, Workers workers, Strided a, Strided b, Strided c, int m, int n, int k, BiasEpilogue? epilogue = null, ReluMask? mask = null)
    {
        switch (path)
        {
            case VectorPath.Vector512: Multiply<Vec512>(workers, a, b, c, m, n, k, epilogue, mask); break;
            case VectorPath.Vector256: Multiply<Vec256>(workers, a, b, c, m, n, k, epilogue, mask); break;
            default: Multiply<Vec1>(workers, a, b, c, m, n, k, epilogue, mask); break;
        }
    }

    /// <summary>As <see cref="Multiply(VectorPath, Workers, Strided, Strided, Strided, int, int, int, BiasEpilogue?, ReluMask?)"/>,
    /// all of it on the calling thread with the scratch of <paramref name="slot"/> (&lt; the threads this GEMM was made
    /// for): a product inside a block of a parallel loop that splits some larger work (the transposed convolution's images).</summary>
    public void MultiplyHere(VectorPath path, int slot, Strided a, Strided b, Strided c, int m, int n, int k)
    {
        switch (path)
        {
            case VectorPath.Vector512: MultiplyHere<Vec512>(slot, a, b, c, m, n, k); break;
            case VectorPath.Vector256: MultiplyHere<Vec256>(slot, a, b, c, m, n, k); break;
            default: MultiplyHere<Vec1>(slot, a, b, c, m, n, k); break;
        }
    }

    void MultiplyHere<V>(int slot, Strided a, Strided b, Strided c, int m, int n, int k) where V : struct, IVector<V>
    {
        if (m == 0 || n == 0) return;
        bool biasByRow = Orient<V>(ref a, ref b, ref c, ref m, ref n);
        Block<V>(slot, a, b, c, n, k, 0, m, 0, (n + 2 * V.Width - 1) / (2 * V.Width), null, null, biasByRow);
    }

    /// <summary>Narrower than a panel and taller than wide: the product is computed transposed, Cᵀ = Bᵀ·Aᵀ, so that the
    /// vectors run down the rows of C instead (a bias then goes by row). Returns whether it was.</summary>
    static bool Orient<V>(ref Strided a, ref Strided b, ref Strided c, ref int m, ref int n) where V : struct, IVector<V>
    {
        if (n >= 2 * V.Width || m <= n) return false;
        (a, b, c, m, n) = (b.Transposed, a.Transposed, c.Transposed, n, m);
        return true;
    }

    void Multiply<V>(Workers workers, Strided a, Strided b, Strided c, int m, int n, int k, BiasEpilogue? epilogue, ReluMask? mask) where V : struct, IVector<V>
    {
        if (m == 0 || n == 0) return;
        int nr = 2 * V.Width;
        bool biasByRow = Orient<V>(ref a, ref b, ref c, ref m, ref n);
        int mr = TileRows<V>();
        int panels = (n + nr - 1) / nr, rowBlocks = (m + mr - 1) / mr;
        // Split the panels between threads where B must be packed and there are enough of them (each thread then packs only
        // its own); where B is read in place, whichever of panels and rows splits more evenly (the panels when equal): the
        // conv layers' weight gradient, 9 panels of 64 × 288 at K = 6,272, took 1.86 ms split 4/5 by panels and 1.64 ms
        // split 4/4 by its 8 row blocks (Xeon VM, 3 alternating rounds; 256 × 784 × 128: 0.349 → 0.327 ms).
        int most(int units) => (units + workers.Count - 1) / workers.Count;
        bool byPanels = b.Column != 1 ? panels >= workers.Count : (long)most(panels) * rowBlocks <= (long)most(rowBlocks) * panels;
        // A tie goes to the rows where a thread's rows would have A packed (see Block): each thread then packs only its own
        // rows and reuses them over every panel; 784 × 256 at K = 128 (Aᵀ·B) took 0.367 → 0.292 ms so (Xeon VM, best of 3).
        if (b.Column == 1 && (long)most(panels) * rowBlocks == (long)most(rowBlocks) * panels
            && PacksA(a, panels, (long)most(rowBlocks) * mr, ChunkOf(k))) byPanels = false;
        int units = byPanels ? panels : rowBlocks, blocks = Math.Min(workers.Count, units);
        // Small products stay on one thread: below ~65,000 multiply-adds (a few µs) a second thread costs more than it saves;
        // so do short sums (K < 8) over fewer than 65,536 outputs, a pass that mostly writes C (128×256×2: 3 µs alone, 10 on two).
        if ((long)m * n * k < 1L << 16 || (k < 8 && (long)m * n < 1L << 16)) blocks = 1;
        workers.Run(blocks, block =>
        {
            int start = (int)((long)units * block / blocks), end = (int)((long)units * (block + 1) / blocks);
            if (byPanels) Block<V>(block, a, b, c, n, k, 0, m, start, end, epilogue, mask, biasByRow);
            else Block<V>(block, a, b, c, n, k, start * mr, Math.Min(m, end * mr), 0, panels, epilogue, mask, biasByRow);
        });
    }

    /// <summary>Sums longer than <see cref="LongSum"/> (the conv layers' weight gradients, K = 6,272; the dense layers' K is at
    /// most 784) are cut into chunks of this many products: a chunk of a B panel (KBlock × NR floats, 32 KB at NR = 32) stays
    /// in cache while every row block of the thread reuses it, where a whole panel was streamed from memory once per row
    /// block (2.1–2.7× faster on those two shapes; chunking the dense layers' 784 gained nothing measurable). A tile stores its accumulators
    /// after a chunk and the next chunk loads them again, which is exact, so every element still takes its K products in
    /// order through one chain of fused multiply-adds.</summary>
    public const int KBlock = 256, LongSum = 1024;

    /// <summary>The products a tile takes before storing its accumulators: all K, or KBlock where K &gt; LongSum.</summary>
    static int ChunkOf(int k) => k > LongSum ? KBlock : k;

    /// <summary>How many floats of A a block of rows takes in one chunk of K: 256 KB, within a core's L2.</summary>
    const int RowBlockFloats = 1 << 16;

    /// <summary>Where the thread's chunk of B is at most this many floats (64 KB: the short sums of the latent layers,
    /// K = 2–32), it stays in cache anyway, and each row block takes every panel in turn, so that C is written row after
    /// row: the conv-VAE's 128 × 4 → 3,136 and 128 × 2 → 3,136, whose 1.6 MB of C is most of their cost, took 0.42 and
    /// 0.30 ms in a training step with C written panel by panel, 0.21 and 0.13 ms row by row.</summary>
    const int SmallB = 1 << 14;

    /// <summary>The fewest panels, and more than this many floats of A in one K chunk, that a block of the GEMM must have for A
    /// read down its columns to be packed (see Block).</summary>
    const int PanelsToPackA = 8, ColumnsOfAInL1 = 4096;

    /// <summary>Whether a block of <paramref name="rows"/> rows × <paramref name="panels"/> panels packs A (see Block).</summary>
    static bool PacksA(Strided a, int panels, long rows, int chunk) =>
        a.Row == 1 && a.Column > 1 && panels >= PanelsToPackA && rows * chunk > ColumnsOfAInL1;

    /// <summary>Whether B, whose rows are contiguous, is still packed into panels: where its rows lie a multiple of 64 floats
    /// (256 bytes) apart, a panel read in place falls into a quarter or less of L1's sets and does not stay there, though
    /// its K × NR floats would; packed, it does, for the many row blocks (at least 8) that reuse it. Not for sums longer
    /// than LongSum (a panel of K = 6,272 is far larger than L1), nor beside an A read down its columns. Xeon VM, best of
    /// 3 alternating rounds: 6,272 × 288 → 64 (B 288 × 64, the conv decoder's dX) 1.216 → 0.976 ms alone, 1.713 → 1.206 ms
    /// in a conv-VAE step; packed, 128 × 784 → 256 (a panel of 100 KB) and 32 × 3,136 (4 row blocks) were slower alone, and
    /// the dense decoder's weight gradient 784 × 256 at K = 128 (Aᵀ·B, B 128 × 256) took 0.373 → 0.600 ms in an AE step.</summary>
    static bool PacksB(Strided a, Strided b, int k, int nr, int rowBlocks) =>
        a.Column == 1 && b.Row % 64 == 0 && k <= LongSum && k * nr <= PanelInL1 && rowBlocks >= 8;

    /// <summary>The most floats of a packed panel that <see cref="PacksB"/> counts on L1 to hold (40 KB).</summary>
    const int PanelInL1 = 10_240;

    /// <summary>Rows [m0, m1) × panels [j0, j1) of C, with the scratch of block <paramref name="slot"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void Block<V>(int slot, Strided a, Strided b, Strided c, int n, int k, int m0, int m1, int j0, int j1, BiasEpilogue? epilogue, ReluMask? mask, bool biasByRow)
        where V : struct, IVector<V>
    {
        int nr = 2 * V.Width, mr = TileRows<V>();
        bool bRows = b.Column == 1, cRows = c.Column == 1;
        // Panels that need packing: all of them unless B's rows are contiguous, then only a partial last one, or all of them
        // where B's rows lie a multiple of 256 bytes apart and many row blocks reuse a panel that fits L1 (see PacksB).
        int lastWidth = n - (j1 - 1) * nr;
        int firstPacked = bRows && !PacksB(a, b, k, nr, (m1 - m0 + mr - 1) / mr) ? (lastWidth < nr ? j1 - 1 : j1) : j0;
        ref float panels = ref Scratch(_panels, slot, (j1 - firstPacked) * k * nr);
        int chunk = ChunkOf(k);
        // A read down its columns (Aᵀ·B: a column's rows contiguous, one K step a whole row of the stored matrix apart) is
        // packed, a block of rows at a time, into row blocks laid out K step after K step: where each of its tiles read
        // one cache line per K step, far apart, and read them again for every panel, the pack reads them once and the tiles
        // stream their rows of A. The dense layers' weight gradients, 784 × 256 and 256 × 784 at K = 128, were 1.5× OpenBLAS's
        // time without it. Only where the tiles of a row block are many and A's chunk is larger than L1 would hold beside B's
        // (PanelsToPackA, ColumnsOfAInL1); GEMM alone, Xeon VM, best of 5 alternating rounds: 256 × 784 at K = 128 (25 panels,
        // 128 rows a thread) 0.332 → 0.273 ms packed, the conv weight gradient 64 × 288 at K = 6,272 1.487 → 1.257 ms, but
        // 784 × 256 (4 panels a thread) 0.375 → 0.423 ms and 32 × 3,136 (32 rows) 0.117 → 0.136 ms.
        bool packA = PacksA(a, j1 - j0, m1 - m0, chunk);
        ref float rowsOfA = ref Scratch(_rowsOfA, slot, packA ? RowBlockFloats + 2 * mr * chunk : chunk * mr);
        ref float tile = ref Scratch(_tile, slot, mr * nr);
        for (int j = firstPacked; j < j1; j++) Pack(b, ref Unsafe.Add(ref panels, (j - firstPacked) * k * nr), j * nr, Math.Min(nr, n - j * nr), nr, k);

        ref float a0 = ref MemoryMarshal.GetArrayDataReference(a.Data);
        ref float b0 = ref MemoryMarshal.GetArrayDataReference(b.Data);
        ref float c0 = ref MemoryMarshal.GetArrayDataReference(c.Data);
        for (int p0 = 0; p0 < k; p0 += chunk)
        {
            int kk = Math.Min(chunk, k - p0);
            bool resume = p0 > 0, last = p0 + kk == k;
            // Only the last row block can be partial: its rows of this chunk are copied once, k-major and padded with zero
            // rows, so that its tiles read `height` rows.
            int partialRow = m1 - (m1 - m0) % mr, partialRows = m1 - partialRow, partialHeight = TileFor(partialRows, mr);
            if (!packA && partialRows > 0 && partialRows < partialHeight)
            {
                ref float from = ref Unsafe.Add(ref a0, a.Offset + partialRow * a.Row + p0 * a.Column);
                for (int p = 0; p < kk; p++)
                    for (int r = 0; r < partialHeight; r++)
                        Unsafe.Add(ref rowsOfA, p * partialHeight + r) = r < partialRows ? Unsafe.Add(ref from, r * a.Row + p * a.Column) : 0f;
            }
            // The loops of BLIS: a block of rows whose chunk of A (RowBlockFloats) stays in L2, and for each panel, whose
            // chunk stays in L1, every row block of the block (10–15 % faster than each row block over every panel on the
            // dense layers' 128 × 256 × 784 and its transposes; the same on the conv shapes); a small B: see SmallB.
            int rowBlock = (long)kk * (j1 - j0) * nr <= SmallB ? mr : Math.Max(mr, RowBlockFloats / kk / mr * mr);
            for (int r0 = m0; r0 < m1; r0 += rowBlock)
            {
                int r1 = Math.Min(m1, r0 + rowBlock);
                if (packA) PackRows(a, p0, kk, r0, r1, mr, ref rowsOfA);
                for (int j = j0; j < j1; j++)
                {
                    int col = j * nr, width = Math.Min(nr, n - col);
                    bool packed = j >= firstPacked;
                    ref float bPanel = ref packed ? ref Unsafe.Add(ref panels, (j - firstPacked) * k * nr + p0 * nr) : ref Unsafe.Add(ref b0, b.Offset + col + p0 * b.Row);
                    int bRow = packed ? nr : b.Row;
                    for (int row = r0; row < r1; row += mr)
                    {
                        int rows = Math.Min(mr, m1 - row), height = TileFor(rows, mr);
                        bool copied = packA || rows < height;
                        ref float aTile = ref packA ? ref Unsafe.Add(ref rowsOfA, (row - r0) * kk) : ref copied ? ref rowsOfA : ref Unsafe.Add(ref a0, a.Offset + row * a.Row + p0 * a.Column);
                        int aRow = copied ? 1 : a.Row, aColumn = copied ? height : a.Column;
                        if (rows == height && width == nr && cRows)
                        {
                            ref float cTile = ref Unsafe.Add(ref c0, c.Offset + row * c.Row + col);
                            Tile<V>(height, ref aTile, aRow, aColumn, ref bPanel, bRow, ref cTile, c.Row, kk, resume);
                            if (last && epilogue is { } e) AddBias(e, biasByRow, ref cTile, c.Row, row, rows, col, width);
                            if (last && mask is { } relu)
                                for (int r = 0; r < rows; r++)
                                    KeepWherePositiveRow(ref Unsafe.Add(ref cTile, r * c.Row),
                                        ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(relu.Output), relu.Offset + (row + r) * c.Row + col), width);
                        }
                        else
                        {
                            if (resume)
                                for (int r = 0; r < rows; r++)
                                    for (int q = 0; q < width; q++) Unsafe.Add(ref tile, r * nr + q) = Unsafe.Add(ref c0, c.Offset + (row + r) * c.Row + (col + q) * c.Column);
                            Tile<V>(height, ref aTile, aRow, aColumn, ref bPanel, bRow, ref tile, nr, kk, resume);
                            if (last && epilogue is { } e) AddBias(e, biasByRow, ref tile, nr, row, rows, col, width);
                            for (int r = 0; r < rows; r++)
                                for (int q = 0; q < width; q++)
                                {
                                    int at = (row + r) * c.Row + (col + q) * c.Column;
                                    float v = Unsafe.Add(ref tile, r * nr + q);
                                    Unsafe.Add(ref c0, c.Offset + at) = last && mask is { } relu ? GpuAe.Kernels.Rows.KeepWherePositive(v, relu.Output[relu.Offset + at]) : v;
                                }
                        }
                    }
                }
            }
        }
    }

    /// <summary>Rows [r0, r1) of A's K chunk [p0, p0 + kk), A read down its columns (a.Row = 1), as row blocks of mr rows
    /// laid out K step after K step: the block at row r0 + i·mr at packed[i·mr·kk], its A(row + r, p0 + p) at
    /// [p·height + r], a partial last block padded with zero rows to its tile's height. The values are copied, not changed.</summary>
    static void PackRows(Strided a, int p0, int kk, int r0, int r1, int mr, ref float packed)
    {
        ref float a0 = ref MemoryMarshal.GetArrayDataReference(a.Data);
        nint step = a.Column;
        for (int row = r0; row < r1; row += mr)
        {
            int rows = Math.Min(mr, r1 - row), height = TileFor(rows, mr);
            ref float to = ref Unsafe.Add(ref packed, (row - r0) * kk);
            ref float from = ref Unsafe.Add(ref a0, a.Offset + row + p0 * a.Column);
            if (rows == 8)
                for (int p = 0; p < kk; p++, to = ref Unsafe.Add(ref to, 8), from = ref Unsafe.Add(ref from, step))
                    Vector256.LoadUnsafe(ref from).StoreUnsafe(ref to);
            else
                for (int p = 0; p < kk; p++, to = ref Unsafe.Add(ref to, height), from = ref Unsafe.Add(ref from, step))
                    for (int r = 0; r < height; r++) Unsafe.Add(ref to, r) = r < rows ? Unsafe.Add(ref from, r) : 0f;
        }
    }

    /// <summary>The epilogue on a finished tile of C, rows [row, row + rows) × columns [col, col + width), row r at
    /// tile[r·ldc]: v = C + bias (by column, or by row where C was computed transposed), then the ReLU.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void AddBias(BiasEpilogue e, bool byRow, ref float tile, int ldc, int row, int rows, int col, int width)
    {
        ref float bias = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(e.Bias), e.Offset);
        for (int r = 0; r < rows; r++)
        {
            ref float line = ref Unsafe.Add(ref tile, r * ldc);
            if (!byRow) { AddBiasRow(ref line, ref Unsafe.Add(ref bias, col), width, e.Relu); continue; }
            float b = Unsafe.Add(ref bias, row + r);
            for (int q = 0; q < width; q++)
            {
                float v = Unsafe.Add(ref line, q) + b;
                Unsafe.Add(ref line, q) = e.Relu ? GpuAe.Kernels.Rows.Relu(v) : v;
            }
        }
    }

    /// <summary>y[i] = act(y[i] + bias[i]) for i &lt; width: the bias and ReLU of a row, for the epilogue and for
    /// SimdBackend.AddBias alike. ReLU keeps v only where v &gt; 0 (NaN and −0 become +0, in the vectors as in the tail).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void AddBiasRow(ref float y, ref float bias, int width, bool relu)
    {
        int q = 0, w = Vector<float>.Count;
        for (; q + w <= width; q += w)
        {
            var v = Vector.LoadUnsafe(ref Unsafe.Add(ref y, q)) + Vector.LoadUnsafe(ref Unsafe.Add(ref bias, q));
            if (relu) v = Vector.ConditionalSelect(Vector.GreaterThan(v, Vector<float>.Zero), v, Vector<float>.Zero);
            v.StoreUnsafe(ref Unsafe.Add(ref y, q));
        }
        for (; q < width; q++)
        {
            float v = Unsafe.Add(ref y, q) + Unsafe.Add(ref bias, q);
            Unsafe.Add(ref y, q) = relu ? GpuAe.Kernels.Rows.Relu(v) : v;
        }
    }

    /// <summary>y[i] = <see cref="GpuAe.Kernels.Rows.KeepWherePositive"/>(y[i], reluOutput[i]) for i &lt; width, vectorised
    /// (NaN and ≤ 0 outputs give 0): the epilogue's and SimdBackend's ReLU backward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void KeepWherePositiveRow(ref float y, ref float reluOutput, int width)
    {
        int q = 0, w = Vector<float>.Count;
        for (; q + w <= width; q += w)
            Vector.ConditionalSelect(Vector.GreaterThan(Vector.LoadUnsafe(ref reluOutput, (nuint)q), Vector<float>.Zero), Vector.LoadUnsafe(ref y, (nuint)q), Vector<float>.Zero)
                .StoreUnsafe(ref y, (nuint)q);
        for (; q < width; q++) Unsafe.Add(ref y, q) = GpuAe.Kernels.Rows.KeepWherePositive(Unsafe.Add(ref y, q), Unsafe.Add(ref reluOutput, q));
    }

    static ref float Scratch(float[][] buffers, int slot, int length)
    {
        if (buffers[slot].Length < length) buffers[slot] = new float[length];
        return ref MemoryMarshal.GetArrayDataReference(buffers[slot]);
    }

    /// <summary>Columns [col, col + width) of B into a k × nr panel, rows contiguous, padded with zero columns.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Pack(Strided b, ref float panel, int col, int width, int nr, int k)
    {
        ref float b0 = ref MemoryMarshal.GetArrayDataReference(b.Data);
        if (b.Column == 1)
            for (int p = 0; p < k; p++)
            {
                var to = MemoryMarshal.CreateSpan(ref Unsafe.Add(ref panel, p * nr), nr);
                MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref b0, b.Offset + p * b.Row + col), width).CopyTo(to);
                to[width..].Clear();
            }
        else
        {
            int p = 0;
            // Wᵀ (B(k, n) = W[n, k], rows of W contiguous): 8×8 blocks transposed in registers, 8 rows of W in, 8 panel
            // rows out; what is left (a partial panel, K's last rows, other strides) one element at a time.
            if (b.Row == 1 && width == nr && nr % 8 == 0 && Avx.IsSupported)
                for (; p + 8 <= k; p += 8)
                    for (int q = 0; q < nr; q += 8)
                        Transpose8x8(ref Unsafe.Add(ref b0, b.Offset + p + (col + q) * b.Column), b.Column, ref Unsafe.Add(ref panel, p * nr + q), nr);
            for (; p < k; p++)
                for (int q = 0; q < nr; q++)
                    Unsafe.Add(ref panel, p * nr + q) = q < width ? Unsafe.Add(ref b0, b.Offset + p * b.Row + (col + q) * b.Column) : 0f;
        }
    }

    /// <summary>to[i·toStride + j] = from[j·fromStride + i] for an 8×8 block: the unpack / shuffle / lane-swap transpose.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Transpose8x8(ref float from, int fromStride, ref float to, int toStride)
    {
        Vector256<float> r0 = Vector256.LoadUnsafe(ref from), r1 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, fromStride)),
            r2 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, 2 * fromStride)), r3 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, 3 * fromStride)),
            r4 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, 4 * fromStride)), r5 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, 5 * fromStride)),
            r6 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, 6 * fromStride)), r7 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, 7 * fromStride));
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3),
            t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE), u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE),
            u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE), u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Permute2x128(u0, u4, 0x20).StoreUnsafe(ref to);
        Avx.Permute2x128(u1, u5, 0x20).StoreUnsafe(ref Unsafe.Add(ref to, toStride));
        Avx.Permute2x128(u2, u6, 0x20).StoreUnsafe(ref Unsafe.Add(ref to, 2 * toStride));
        Avx.Permute2x128(u3, u7, 0x20).StoreUnsafe(ref Unsafe.Add(ref to, 3 * toStride));
        Avx.Permute2x128(u0, u4, 0x31).StoreUnsafe(ref Unsafe.Add(ref to, 4 * toStride));
        Avx.Permute2x128(u1, u5, 0x31).StoreUnsafe(ref Unsafe.Add(ref to, 5 * toStride));
        Avx.Permute2x128(u2, u6, 0x31).StoreUnsafe(ref Unsafe.Add(ref to, 6 * toStride));
        Avx.Permute2x128(u3, u7, 0x31).StoreUnsafe(ref Unsafe.Add(ref to, 7 * toStride));
    }

    static void Tile<V>(int rows, ref float a, int sm, int sk, ref float b, int ldb, ref float c, int ldc, int k, bool resume) where V : struct, IVector<V>
    {
        switch (rows)
        {
            case 8: Tile8x2<V>(ref a, sm, sk, ref b, ldb, ref c, ldc, k, resume); break;
            case 6: Tile6x2<V>(ref a, sm, sk, ref b, ldb, ref c, ldc, k, resume); break;
            case 4: Tile4x2<V>(ref a, sm, sk, ref b, ldb, ref c, ldc, k, resume); break;
            case 2: Tile2x2<V>(ref a, sm, sk, ref b, ldb, ref c, ldc, k, resume); break;
            case 1: Tile1x2<V>(ref a, sm, sk, ref b, ldb, ref c, ldc, k, resume); break;
            default: throw new ArgumentOutOfRangeException(nameof(rows));
        }
    }

    /// <summary>The tile height for a row block of <paramref name="rows"/> ≤ mr rows: exact for 1, 2, 4 and mr, else
    /// the next of these up (the block is then padded with zero rows).</summary>
    static int TileFor(int rows, int mr) => rows switch { 1 or 2 or 4 => rows, 3 => 4, _ => mr };

    // The micro-kernels, written out in full so that the JIT keeps every accumulator in a register; the offsets and
    // strides are native integers and the loop counts down, so that no register is sign-extended or spilled in the loop
    // (3–10 % faster on the models' shapes than int offsets, whose loop reloaded k and one offset from the stack). A(r, p) is
    // a[r·sm + p·sk]; row p of the B panel starts at b[p·ldb]; row r of the tile is stored at c[r·ldc]. With resume the
    // accumulators start from the tile's stored values (the previous K chunk's), else from zero.

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile8x2<V>(ref float a, int sm, int sk, ref float b, int ldb, ref float c, int ldc, int k, bool resume) where V : struct, IVector<V>
    {
        int w = V.Width;
        V c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71;
        c00 = V.Zero; c01 = V.Zero; c10 = V.Zero; c11 = V.Zero; c20 = V.Zero; c21 = V.Zero; c30 = V.Zero; c31 = V.Zero; c40 = V.Zero; c41 = V.Zero; c50 = V.Zero; c51 = V.Zero; c60 = V.Zero; c61 = V.Zero; c70 = V.Zero; c71 = V.Zero;
        if (resume)
        {
            { ref float row = ref c; c00 = V.Load(ref row); c01 = V.Load(ref Unsafe.Add(ref row, w)); }
            { ref float row = ref Unsafe.Add(ref c, ldc); c10 = V.Load(ref row); c11 = V.Load(ref Unsafe.Add(ref row, w)); }
            { ref float row = ref Unsafe.Add(ref c, 2 * ldc); c20 = V.Load(ref row); c21 = V.Load(ref Unsafe.Add(ref row, w)); }
            { ref float row = ref Unsafe.Add(ref c, 3 * ldc); c30 = V.Load(ref row); c31 = V.Load(ref Unsafe.Add(ref row, w)); }
            { ref float row = ref Unsafe.Add(ref c, 4 * ldc); c40 = V.Load(ref row); c41 = V.Load(ref Unsafe.Add(ref row, w)); }
            { ref float row = ref Unsafe.Add(ref c, 5 * ldc); c50 = V.Load(ref row); c51 = V.Load(ref Unsafe.Add(ref row, w)); }
            { ref float row = ref Unsafe.Add(ref c, 6 * ldc); c60 = V.Load(ref row); c61 = V.Load(ref Unsafe.Add(ref row, w)); }
            { ref float row = ref Unsafe.Add(ref c, 7 * ldc); c70 = V.Load(ref row); c71 = V.Load(ref Unsafe.Add(ref row, w)); }
        }
        nint o1 = sm, o2 = 2 * o1, o3 = 3 * o1, o4 = 4 * o1, o5 = 5 * o1, o6 = 6 * o1, o7 = 7 * o1, bStep = ldb, aStep = sk;
        for (int p = k; p > 0; p--, b = ref Unsafe.Add(ref b, bStep), a = ref Unsafe.Add(ref a, aStep))
        {
            V b0 = V.Load(ref b); V b1 = V.Load(ref Unsafe.Add(ref b, w));
            { V x = V.Broadcast(a); c00 = V.MultiplyAdd(x, b0, c00); c01 = V.MultiplyAdd(x, b1, c01); }
            { V x = V.Broadcast(Unsafe.Add(ref a, o1)); c10 = V.MultiplyAdd(x, b0, c10); c11 = V.MultiplyAdd(x, b1, c11); }
            { V x = V.Broadcast(Unsafe.Add(ref a, o2)); c20 = V.MultiplyAdd(x, b0, c20); c21 = V.MultiplyAdd(x, b1, c21); }
            { V x = V.Broadcast(Unsafe.Add(ref a, o3)); c30 = V.MultiplyAdd(x, b0, c30); c31 = V.MultiplyAdd(x, b1, c31); }
            { V x = V.Broadcast(Unsafe.Add(ref a, o4)); c40 = V.MultiplyAdd(x, b0, c40); c41 = V.MultiplyAdd(x, b1, c41); }
            { V x = V.Broadcast(Unsafe.Add(ref a, o5)); c50 = V.MultiplyAdd(x, b0, c50); c51 = V.MultiplyAdd(x, b1, c51); }
            { V x = V.Broadcast(Unsafe.Add(ref a, o6)); c60 = V.MultiplyAdd(x, b0, c60); c61 = V.MultiplyAdd(x, b1, c61); }
            { V x = V.Broadcast(Unsafe.Add(ref a, o7)); c70 = V.MultiplyAdd(x, b0, c70); c71 = V.MultiplyAdd(x, b1, c71); }
        }
        { ref float row = ref c; c00.Store(ref row); c01.Store(ref Unsafe.Add(ref row, w)); }
        { ref float row = ref Unsafe.Add(ref c, ldc); c10.Store(ref row); c11.Store(ref Unsafe.Add(ref row, w)); }
        { ref float row = ref Unsafe.Add(ref c, 2 * ldc); c20.Store(ref row); c21.Store(ref Unsafe.Add(ref row, w)); }
        { ref float row = ref Unsafe.Add(ref c, 3 * ldc); c30.Store(ref row); c31.Store(ref Unsafe.Add(ref row, w)); }
        { ref float row = ref Unsafe.Add(ref c, 4 * ldc); c40.Store(ref row); c41.Store(ref Unsafe.Add(ref row, w)); }
        { ref float row = ref Unsafe.Add(ref c, 5 * ldc); c50.Store(ref row); c51.Store(ref Unsafe.Add(ref row, w)); }
        { ref float row = ref Unsafe.Add(ref c, 6 * ldc); c60.Store(ref row); c61.Store(ref Unsafe.Add(ref row, w)); }
        { ref float row = ref Unsafe.Add(ref c, 7 * ldc); c70.Store(ref row); c71.Store(ref Unsafe.Add(ref row, w)); }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile6x2<V>(ref float a, int sm, int sk, ref float b, int ldb, ref float c, int ldc, int k, bool resume) where V : struct, IVector<V>
    {
        int w = V.Width;
        V c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        c00 = V.Zero; c01 = V.Zero; c10 = V.Zero; c11 = V.Zero; c20 = V.Zero; c21 = V.Zero; c30 = V.Zero; c31 = V.Zero; c40 = V.Zero; c41 = V.Zero; c50 = V.Zero; c51 = V.Zero;
        if (resume)
        {
            { ref float row = ref c; c00 = V.Load(ref row); c01 = V.Load(ref Unsafe.Add(ref row, w)); }
            { ref float row = ref Unsafe.Add(ref c, ldc); c10 = V.Load(ref row); c11 = V.Load(ref Unsafe.Add(ref row, w)); }
            { ref float row = ref Unsafe.Add(ref c, 2 * ldc); c20 = V.Load(ref row); c21 = V.Load(ref Unsafe.Add(ref row, w)); }
            { ref float row = ref Unsafe.Add(ref c, 3 * ldc); c30 = V.Load(ref row); c31 = V.Load(ref Unsafe.Add(ref row, w)); }
            { ref float row = ref Unsafe.Add(ref c, 4 * ldc); c40 = V.Load(ref row); c41 = V.Load(ref Unsafe.Add(ref row, w)); }
            { ref float row = ref Unsafe.Add(ref c, 5 * ldc); c50 = V.Load(ref row); c51 = V.Load(ref Unsafe.Add(ref row, w)); }
        }
        nint o1 = sm, o2 = 2 * o1, o3 = 3 * o1, o4 = 4 * o1, o5 = 5 * o1, bStep = ldb, aStep = sk;
        for (int p = k; p > 0; p--, b = ref Unsafe.Add(ref b, bStep), a = ref Unsafe.Add(ref a, aStep))
        {
            V b0 = V.Load(ref b); V b1 = V.Load(ref Unsafe.Add(ref b, w));
            { V x = V.Broadcast(a); c00 = V.MultiplyAdd(x, b0, c00); c01 = V.MultiplyAdd(x, b1, c01); }
            { V x = V.Broadcast(Unsafe.Add(ref a, o1)); c10 = V.MultiplyAdd(x, b0, c10); c11 = V.MultiplyAdd(x, b1, c11); }
            { V x = V.Broadcast(Unsafe.Add(ref a, o2)); c20 = V.MultiplyAdd(x, b0, c20); c21 = V.MultiplyAdd(x, b1, c21); }
            { V x = V.Broadcast(Unsafe.Add(ref a, o3)); c30 = V.MultiplyAdd(x, b0, c30); c31 = V.MultiplyAdd(x, b1, c31); }
            { V x = V.Broadcast(Unsafe.Add(ref a, o4)); c40 = V.MultiplyAdd(x, b0, c40); c41 = V.MultiplyAdd(x, b1, c41); }
            { V x = V.Broadcast(Unsafe.Add(ref a, o5)); c50 = V.MultiplyAdd(x, b0, c50); c51 = V.MultiplyAdd(x, b1, c51); }
        }
        { ref float row = ref c; c00.Store(ref row); c01.Store(ref Unsafe.Add(ref row, w)); }
        { ref float row = ref Unsafe.Add(ref c, ldc); c10.Store(ref row); c11.Store(ref Unsafe.Add(ref row, w)); }
        { ref float row = ref Unsafe.Add(ref c, 2 * ldc); c20.Store(ref row); c21.Store(ref Unsafe.Add(ref row, w)); }
        { ref float row = ref Unsafe.Add(ref c, 3 * ldc); c30.Store(ref row); c31.Store(ref Unsafe.Add(ref row, w)); }
        { ref float row = ref Unsafe.Add(ref c, 4 * ldc); c40.Store(ref row); c41.Store(ref Unsafe.Add(ref row, w)); }
        { ref float row = ref Unsafe.Add(ref c, 5 * ldc); c50.Store(ref row); c51.Store(ref Unsafe.Add(ref row, w)); }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile4x2<V>(ref float a, int sm, int sk, ref float b, int ldb, ref float c, int ldc, int k, bool resume) where V : struct, IVector<V>
    {
        int w = V.Width;
        V c00, c01, c10, c11, c20, c21, c30, c31;
        c00 = V.Zero; c01 = V.Zero; c10 = V.Zero; c11 = V.Zero; c20 = V.Zero; c21 = V.Zero; c30 = V.Zero; c31 = V.Zero;
        if (resume)
        {
            { ref float row = ref c; c00 = V.Load(ref row); c01 = V.Load(ref Unsafe.Add(ref row, w)); }
            { ref float row = ref Unsafe.Add(ref c, ldc); c10 = V.Load(ref row); c11 = V.Load(ref Unsafe.Add(ref row, w)); }
            { ref float row = ref Unsafe.Add(ref c, 2 * ldc); c20 = V.Load(ref row); c21 = V.Load(ref Unsafe.Add(ref row, w)); }
            { ref float row = ref Unsafe.Add(ref c, 3 * ldc); c30 = V.Load(ref row); c31 = V.Load(ref Unsafe.Add(ref row, w)); }
        }
        nint o1 = sm, o2 = 2 * o1, o3 = 3 * o1, bStep = ldb, aStep = sk;
        for (int p = k; p > 0; p--, b = ref Unsafe.Add(ref b, bStep), a = ref Unsafe.Add(ref a, aStep))
        {
            V b0 = V.Load(ref b); V b1 = V.Load(ref Unsafe.Add(ref b, w));
            { V x = V.Broadcast(a); c00 = V.MultiplyAdd(x, b0, c00); c01 = V.MultiplyAdd(x, b1, c01); }
            { V x = V.Broadcast(Unsafe.Add(ref a, o1)); c10 = V.MultiplyAdd(x, b0, c10); c11 = V.MultiplyAdd(x, b1, c11); }
            { V x = V.Broadcast(Unsafe.Add(ref a, o2)); c20 = V.MultiplyAdd(x, b0, c20); c21 = V.MultiplyAdd(x, b1, c21); }
            { V x = V.Broadcast(Unsafe.Add(ref a, o3)); c30 = V.MultiplyAdd(x, b0, c30); c31 = V.MultiplyAdd(x, b1, c31); }
        }
        { ref float row = ref c; c00.Store(ref row); c01.Store(ref Unsafe.Add(ref row, w)); }
        { ref float row = ref Unsafe.Add(ref c, ldc); c10.Store(ref row); c11.Store(ref Unsafe.Add(ref row, w)); }
        { ref float row = ref Unsafe.Add(ref c, 2 * ldc); c20.Store(ref row); c21.Store(ref Unsafe.Add(ref row, w)); }
        { ref float row = ref Unsafe.Add(ref c, 3 * ldc); c30.Store(ref row); c31.Store(ref Unsafe.Add(ref row, w)); }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile2x2<V>(ref float a, int sm, int sk, ref float b, int ldb, ref float c, int ldc, int k, bool resume) where V : struct, IVector<V>
    {
        int w = V.Width;
        V c00, c01, c10, c11;
        c00 = V.Zero; c01 = V.Zero; c10 = V.Zero; c11 = V.Zero;
        if (resume)
        {
            { ref float row = ref c; c00 = V.Load(ref row); c01 = V.Load(ref Unsafe.Add(ref row, w)); }
            { ref float row = ref Unsafe.Add(ref c, ldc); c10 = V.Load(ref row); c11 = V.Load(ref Unsafe.Add(ref row, w)); }
        }
        nint o1 = sm, bStep = ldb, aStep = sk;
        for (int p = k; p > 0; p--, b = ref Unsafe.Add(ref b, bStep), a = ref Unsafe.Add(ref a, aStep))
        {
            V b0 = V.Load(ref b); V b1 = V.Load(ref Unsafe.Add(ref b, w));
            { V x = V.Broadcast(a); c00 = V.MultiplyAdd(x, b0, c00); c01 = V.MultiplyAdd(x, b1, c01); }
            { V x = V.Broadcast(Unsafe.Add(ref a, o1)); c10 = V.MultiplyAdd(x, b0, c10); c11 = V.MultiplyAdd(x, b1, c11); }
        }
        { ref float row = ref c; c00.Store(ref row); c01.Store(ref Unsafe.Add(ref row, w)); }
        { ref float row = ref Unsafe.Add(ref c, ldc); c10.Store(ref row); c11.Store(ref Unsafe.Add(ref row, w)); }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile1x2<V>(ref float a, int sm, int sk, ref float b, int ldb, ref float c, int ldc, int k, bool resume) where V : struct, IVector<V>
    {
        int w = V.Width;
        V c00, c01;
        c00 = V.Zero; c01 = V.Zero;
        if (resume)
        {
            { ref float row = ref c; c00 = V.Load(ref row); c01 = V.Load(ref Unsafe.Add(ref row, w)); }
        }
        nint bStep = ldb, aStep = sk;
        for (int p = k; p > 0; p--, b = ref Unsafe.Add(ref b, bStep), a = ref Unsafe.Add(ref a, aStep))
        {
            V b0 = V.Load(ref b); V b1 = V.Load(ref Unsafe.Add(ref b, w));
            { V x = V.Broadcast(a); c00 = V.MultiplyAdd(x, b0, c00); c01 = V.MultiplyAdd(x, b1, c01); }
        }
        { ref float row = ref c; c00.Store(ref row); c01.Store(ref Unsafe.Add(ref row, w)); }
    }
}
