using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using GpuAe.Kernels;

namespace GpuAe.Simd;

/// <summary>
/// The host backend: every <see cref="IBackend"/> operation in plain C# with System.Runtime.Intrinsics vectors
/// (AVX-512, AVX2 or scalar, chosen once) and fixed worker threads over fixed row blocks. Work is split so that each
/// output is computed by one thread in a fixed order: results do not depend on the number of threads. It shares
/// the counter-based noise with the ILGPU kernels, so a seed gives the same ε on every backend.
/// </summary>
public sealed class SimdBackend : IBackend
{
    readonly VectorPath _path;
    readonly int _threads;
    readonly float[][] _products; // per block of Col2ImOfProduct: the products of its images, before col2im
    readonly Workers _workers;
    readonly SimdGemm _gemm;

    public SimdBackend(VectorPath? path = null, int? threads = null)
    {
        _path = path ?? VectorPaths.Best;
        _threads = Math.Max(1, threads ?? Environment.ProcessorCount);
        _workers = new Workers(_threads);
        _gemm = new SimdGemm(_threads);
        _products = [.. Enumerable.Range(0, _threads).Select(_ => Array.Empty<float>())];
    }

    public string DeviceName => $"SIMD host backend ({_path}, {VectorPaths.Width(_path)} floats, {_threads} threads)";

    // ---- memory: tensors are slices of plain arrays ----------------------------------------------------------

    static float[] A(Tensor t) => (float[])t.Storage;
    static int[] A(IndexTensor t) => (int[])t.Storage;
    static Span<float> S(Tensor t) => A(t).AsSpan(t.Offset, t.Length);
    /// <summary>Row <paramref name="row"/> of a row-major tensor <paramref name="width"/> floats wide, for the kernels' per-row helpers.</summary>
    static ArrayElements<float> Row(Tensor t, int row, int width) => new(A(t), t.Offset + row * width);
    static ArrayElements<float> Elements(Tensor t) => new(A(t), t.Offset);
    /// <summary>An index tensor for the kernels' helpers (the step record, the watch's flag); none reads an absent one.</summary>
    static ArrayElements<int> Elements(IndexTensor? t) => t is { } x ? new(A(x), x.Offset) : default;

    // Host memory: a scope's end only stops counting its arrays; the garbage collector frees them once unreferenced.
    readonly MemoryLedger _ledger = new(_ => { });

    public Tensor Allocate(int length) { var a = new float[length]; _ledger.Add(a, 4L * length); return new(a, 0, length); }
    public IndexTensor AllocateIndices(int length) { var a = new int[length]; _ledger.Add(a, 4L * length); return new(a, 0, length); }
    public long AllocatedBytes => _ledger.Bytes;
    public long PeakAllocatedBytes => _ledger.PeakBytes;
    public IDisposable Scope() => _ledger.Scope();
    public void Upload(Tensor destination, ReadOnlySpan<float> source) => source.CopyTo(S(destination));
    public void Upload(IndexTensor destination, ReadOnlySpan<int> source) => source.CopyTo(A(destination).AsSpan(destination.Offset, destination.Length));
    public void Download(Tensor source, Span<float> destination) => S(source)[..destination.Length].CopyTo(destination);
    public void Download(IndexTensor source, Span<int> destination) => A(source).AsSpan(source.Offset, destination.Length).CopyTo(destination);
    public void Fill(Tensor destination, float value) => S(destination).Fill(value);
    public void Synchronize() { }
    public void Dispose() => _workers.Dispose();

    /// <summary>Runs body(start, end) over [0, count) split into at most one block per thread, block edges on multiples of
    /// <paramref name="align"/>.</summary>
    void ForBlocks(int count, int align, Action<int, int> body)
    {
        int units = (count + align - 1) / align;
        int blocks = Math.Min(_threads, units);
        if (blocks <= 1) { body(0, count); return; }
        _workers.Run(blocks, i =>
        {
            int start = (int)((long)units * i / blocks) * align, end = Math.Min(count, (int)((long)units * (i + 1) / blocks) * align);
            if (start < end) body(start, end);
        });
    }

    /// <summary>C[m,n] = A·B, every operand read through its strides; see <see cref="SimdGemm"/>. Every GEMM of the
    /// backend goes through here.</summary>
    public void Gemm(Strided a, Strided b, Strided c, int m, int n, int k, BiasEpilogue? epilogue = null, ReluMask? mask = null)
    {
        Multiplying?.Invoke(Layout(a, b), m, n, k);
        _gemm.Multiply(_path, _workers, a, b, c, m, n, k, epilogue, mask);
    }

    /// <summary>Called with (layout, M, N, K) before every GEMM: lets `gpuae bench --gemms` list a training step's shapes.</summary>
    public Action<string, int, int, int>? Multiplying { get; set; }

    /// <summary>"A·B", "A·Bᵀ" or "Aᵀ·B": which operands are read transposed (C is always row-major).</summary>
    public static string Layout(Strided a, Strided b) => $"A{(a.Column == 1 ? "" : "ᵀ")}·B{(b.Column == 1 ? "" : "ᵀ")}";

    // ---- dense layers ----------------------------------------------------------------------------------------

    public void DenseForward(Tensor x, Tensor w, Tensor b, Tensor y, int rows, int inFeatures, int outFeatures, Activation activation)
    {
        Shapes.DenseForward(x, w, b, y, rows, inFeatures, outFeatures);
        // y = act(x·Wᵀ + b): B(k, n) = W[n, k] is read through its strides (the GEMM packs it into panels); the bias and
        // activation are applied to each tile of y as the GEMM finishes it (AddBias's arithmetic, without a second pass).
        Gemm(new(A(x), x.Offset, inFeatures, 1), new(A(w), w.Offset, 1, inFeatures), new(A(y), y.Offset, outFeatures, 1), rows, outFeatures, inFeatures,
            new BiasEpilogue(A(b), b.Offset, activation == Activation.Relu));
    }

    public void DenseBackwardInput(Tensor dy, Tensor w, Tensor dx, int rows, int inFeatures, int outFeatures, Tensor? reluOutput)
    {
        Shapes.DenseBackwardInput(dy, w, dx, reluOutput, rows, inFeatures, outFeatures);
        // dx = dy·W, masked by the ReLU's output as each tile of dx is finished (dx and the output share their layout).
        Gemm(new(A(dy), dy.Offset, outFeatures, 1), new(A(w), w.Offset, inFeatures, 1), new(A(dx), dx.Offset, inFeatures, 1), rows, inFeatures, outFeatures,
            mask: reluOutput is { } relu ? new ReluMask(A(relu), relu.Offset) : null);
    }

    public void DenseBackwardParameters(Tensor dy, Tensor x, Tensor dw, Tensor? db, int rows, int inFeatures, int outFeatures)
    {
        Shapes.DenseBackwardParameters(dy, x, dw, db, rows, inFeatures, outFeatures);
        Gemm(new(A(dy), dy.Offset, 1, outFeatures), new(A(x), x.Offset, inFeatures, 1), new(A(dw), dw.Offset, inFeatures, 1), outFeatures, inFeatures, rows);
        if (db is { } bias) ColumnSums(dy, rows, outFeatures, bias);
    }

    /// <summary>Each column summed over the rows in order, walked row by row so that memory is read contiguously.</summary>
    public void ColumnSums(Tensor dy, int rows, int cols, Tensor db)
    {
        Shapes.Rows("column sums", rows, cols, ("dy", dy, false)); Shapes.Rows("column sums", 1, cols, ("db", db, false));
        var dbv = S(db)[..cols];
        dbv.Clear();
        ref float sums = ref MemoryMarshal.GetReference(dbv);
        ref float row = ref MemoryMarshal.GetReference(S(dy));
        int w = Vector<float>.Count;
        if (cols == 1)
        {
            // One column (the last transposed layer's one-channel bias): one chain of adds, kept in a register.
            float sum = 0f;
            for (int r = 0; r < rows; r++) sum += Unsafe.Add(ref row, r);
            sums = sum;
            return;
        }
        for (int r = 0; r < rows; r++, row = ref Unsafe.Add(ref row, cols))
        {
            int c = 0;
            for (; c + w <= cols; c += w) (Vector.LoadUnsafe(ref sums, (nuint)c) + Vector.LoadUnsafe(ref row, (nuint)c)).StoreUnsafe(ref sums, (nuint)c);
            for (; c < cols; c++) Unsafe.Add(ref sums, c) += Unsafe.Add(ref row, c);
        }
    }

    // ---- convolutions: the same index arithmetic as GpuAe.Kernels.Conv, images split across threads ----------

    /// <summary>For each output position and kernel row, the kx run of an in-bounds input row is one contiguous stretch of
    /// Kernel·Channels floats (channels-last), so it is copied whole; only the columns that fall off the image's left or
    /// right edge are zeroed. The geometry's numbers are read into locals once and the positions walked in order (no
    /// division per position), through references (no bounds checks: <see cref="Shapes.Conv"/> has checked the sizes).</summary>
    public void Im2Col(Tensor images, Tensor cols, int count, ConvGeometry g)
    {
        Shapes.Conv("im2col", images, cols, null, count, g);
        float[] x = A(images), c = A(cols);
        int xOffset = images.Offset, cOffset = cols.Offset;
        ForBlocks(count * g.OutPixels, 1, (start, end) =>
        {
            if (g.Channels == 1 && g.Kernel == 3) Im2ColPositions3x3(x, xOffset, c, cOffset, start, end, g);
            else Im2ColPositions(x, xOffset, c, cOffset, start, end, g);
        });
    }

    /// <summary>Im2ColPositions for a 3×3 kernel over one channel (the first conv layer's images, the last transposed
    /// layer's gradient): a patch is nine floats, whose runs of three are too short for copies; each is read straight from
    /// the image, bounds checked only where the patch overlaps the padding (a 128-image batch of 28 × 28: 0.29 → 0.10 ms in a training step).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Im2ColPositions3x3(float[] x, int xOffset, float[] c, int cOffset, int start, int end, ConvGeometry g)
    {
        int height = g.InHeight, width = g.InWidth, stride = g.Stride, padding = g.Padding, outHeight = g.OutHeight, outWidth = g.OutWidth;
        int outPixels = g.OutPixels, imageLength = height * width;
        int n = start / outPixels, oy = start % outPixels / outWidth, ox = start % outPixels % outWidth;
        ref float to = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(c), cOffset + start * 9);
        ref float x0 = ref MemoryMarshal.GetArrayDataReference(x);
        for (int position = start; position < end; position++, to = ref Unsafe.Add(ref to, 9))
        {
            ref float image = ref Unsafe.Add(ref x0, xOffset + n * imageLength);
            int top = oy * stride - padding, left = ox * stride - padding;
            if (top >= 0 && top + 3 <= height && left >= 0 && left + 3 <= width)
            {
                ref float p = ref Unsafe.Add(ref image, top * width + left);
                to = p; Unsafe.Add(ref to, 1) = Unsafe.Add(ref p, 1); Unsafe.Add(ref to, 2) = Unsafe.Add(ref p, 2);
                p = ref Unsafe.Add(ref p, width);
                Unsafe.Add(ref to, 3) = p; Unsafe.Add(ref to, 4) = Unsafe.Add(ref p, 1); Unsafe.Add(ref to, 5) = Unsafe.Add(ref p, 2);
                p = ref Unsafe.Add(ref p, width);
                Unsafe.Add(ref to, 6) = p; Unsafe.Add(ref to, 7) = Unsafe.Add(ref p, 1); Unsafe.Add(ref to, 8) = Unsafe.Add(ref p, 2);
            }
            else
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++)
                    {
                        int y = top + ky, column = left + kx;
                        Unsafe.Add(ref to, ky * 3 + kx) = (uint)y < (uint)height && (uint)column < (uint)width ? Unsafe.Add(ref image, y * width + column) : 0f;
                    }
            if (++ox == outWidth) { ox = 0; if (++oy == outHeight) { oy = 0; n++; } }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Im2ColPositions(float[] x, int xOffset, float[] c, int cOffset, int start, int end, ConvGeometry g)
    {
        int height = g.InHeight, width = g.InWidth, channels = g.Channels, kernel = g.Kernel, stride = g.Stride, padding = g.Padding;
        int outHeight = g.OutHeight, outWidth = g.OutWidth, outPixels = g.OutPixels, run = kernel * channels, imageLength = height * width * channels;
        int n = start / outPixels, oy = start % outPixels / outWidth, ox = start % outPixels % outWidth;
        ref float to = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(c), cOffset + start * kernel * run);
        ref float x0 = ref MemoryMarshal.GetArrayDataReference(x);
        for (int position = start; position < end; position++)
        {
            int left = ox * stride - padding, kx0 = Math.Max(0, -left), kx1 = Math.Min(kernel, width - left);
            ref float image = ref Unsafe.Add(ref x0, xOffset + n * imageLength);
            for (int ky = 0; ky < kernel; ky++, to = ref Unsafe.Add(ref to, run))
            {
                int y = oy * stride + ky - padding;
                if (y < 0 || y >= height || kx0 >= kx1) { Clear(ref to, run); continue; }
                Clear(ref to, kx0 * channels);
                Copy(ref Unsafe.Add(ref image, (y * width + left + kx0) * channels), ref Unsafe.Add(ref to, kx0 * channels), (kx1 - kx0) * channels);
                Clear(ref Unsafe.Add(ref to, kx1 * channels), run - kx1 * channels);
            }
            if (++ox == outWidth) { ox = 0; if (++oy == outHeight) { oy = 0; n++; } }
        }
    }

    /// <summary>Col2im as a scatter, image by image: each output position's patch is read once, contiguously, and each of
    /// its in-bounds kernel rows added onto the pixels it came from as one contiguous run (the gather the GPU kernel uses
    /// reads nine scattered patch rows per pixel, six times slower here). Threads take whole images, so no two write one
    /// pixel, and every pixel's adds come in the fixed order (oy, ox, ky).</summary>
    public void Col2Im(Tensor cols, Tensor images, int count, ConvGeometry g, Tensor? reluOutput)
    {
        Shapes.Conv("col2im", images, cols, reluOutput, count, g);
        float[] c = A(cols), x = A(images);
        float[]? mask = reluOutput is { } m ? A(m) : null;
        int maskOffset = reluOutput?.Offset ?? 0, cOffset = cols.Offset, xOffset = images.Offset, imageLength = g.InPixels * g.Channels;
        ForBlocks(count, 1, (start, end) =>
        {
            for (int n = start; n < end; n++)
            {
                var image = x.AsSpan(xOffset + n * imageLength, imageLength);
                Col2ImImage(c, cOffset + n * g.OutPixels * g.PatchLength, image, g);
                if (mask is not null) KeepWherePositive(image, mask.AsSpan(maskOffset + n * imageLength, imageLength));
            }
        });
    }

    /// <summary>The transposed convolution: <see cref="Col2ImOfProduct"/> of x·wᵀ (w [PatchLength, inChannels] read through
    /// its strides). <paramref name="cols"/> is not used.</summary>
    public void ConvTranspose(Tensor x, Tensor w, Tensor cols, Tensor images, int count, int inChannels, ConvGeometry g)
    {
        Shapes.Col2ImOfProduct("transposed convolution", x, w, images, cols, null, count, inChannels, g);
        Col2ImOfProduct(x, new(A(w), w.Offset, 1, inChannels), images, null, count, inChannels, g);
    }

    /// <summary>A convolution's input gradient: <see cref="Col2ImOfProduct"/> of dy·w (w [outChannels, PatchLength]),
    /// masked. <paramref name="cols"/> is not used.</summary>
    public void ConvBackwardInput(Tensor dy, Tensor w, Tensor cols, Tensor dx, int count, int outChannels, ConvGeometry g, Tensor? reluOutput)
    {
        Shapes.Col2ImOfProduct("convolution backward dX", dy, w, dx, cols, reluOutput, count, outChannels, g);
        Col2ImOfProduct(dy, new(A(w), w.Offset, g.PatchLength, 1), dx, reluOutput, count, outChannels, g);
    }

    /// <summary>images = col2im(x · B) (masked by reluOutput &gt; 0 when given), x [count·OutPixels, width], B [width,
    /// PatchLength]. A few images at a time per thread (their products about 64 K floats, so they stay in cache): the
    /// GEMM of their rows into the thread's scratch, then each image's col2im from there. The products (7 MB per batch
    /// at the conv models' 14×14×32 layers) are never written to memory and read back; each is the same chain of fused
    /// multiply-adds, and each image's col2im adds them in the same order, so the images are Col2Im(GEMM)'s bit for bit.</summary>
    void Col2ImOfProduct(Tensor x, Strided b, Tensor images, Tensor? reluOutput, int count, int width, ConvGeometry g)
    {
        if (g.Channels == 1 && g.PatchLength <= 16 && _path == VectorPath.Vector512)
        {
            Col2ImOfProductOneChannel(x, b, images, reluOutput, count, width, g);
            return;
        }
        int positions = g.OutPixels, patch = g.PatchLength, imageLength = g.InPixels * g.Channels;
        int perGroup = Math.Clamp(ProductsInCache / (positions * patch), 1, Math.Max(1, count));
        int groups = (count + perGroup - 1) / perGroup, blocks = Math.Min(_threads, groups);
        float[] xv = A(x), iv = A(images);
        float[]? mask = reluOutput is { } m ? A(m) : null;
        int xOffset = x.Offset, iOffset = images.Offset, maskOffset = reluOutput?.Offset ?? 0;
        _workers.Run(blocks, block =>
        {
            if (_products[block].Length < perGroup * positions * patch) _products[block] = new float[perGroup * positions * patch];
            var products = _products[block];
            for (int group = (int)((long)groups * block / blocks); group < (int)((long)groups * (block + 1) / blocks); group++)
            {
                int first = group * perGroup, n = Math.Min(perGroup, count - first);
                _gemm.MultiplyHere(_path, block, new(xv, xOffset + first * positions * width, width, 1), b, new(products, 0, patch, 1), n * positions, patch, width);
                for (int i = 0; i < n; i++)
                {
                    var image = iv.AsSpan(iOffset + (first + i) * imageLength, imageLength);
                    Col2ImImage(products, i * positions * patch, image, g);
                    if (mask is not null) KeepWherePositive(image, mask.AsSpan(maskOffset + (first + i) * imageLength, imageLength));
                }
            }
        });
    }

    /// <summary><see cref="Col2ImOfProduct"/> for one-channel images (the conv decoder's last layer, the discriminator's
    /// first): a position's products, at most 16 (9 under a 3×3 kernel), are one AVX-512 vector, B's rows padded to 16
    /// and broadcast x times them summed over the width (32), eight positions at a time so that their chains overlap, then
    /// added onto the image position after position. The general path computes this product transposed (N = 9 is narrower
    /// than a panel), packing x and writing C through a scratch tile, at 35 GFLOP/s (0.75 of the transposed convolution's
    /// 0.8 ms a batch). Each product is still acc = fma(x(p, k), B(k, q), acc) for k in order from 0, and the image takes
    /// each position's products in the same order as <see cref="Col2ImImage"/>, so the bits are the general path's.</summary>
    void Col2ImOfProductOneChannel(Tensor x, Strided b, Tensor images, Tensor? reluOutput, int count, int width, ConvGeometry g)
    {
        const int Lanes = 16, Group = 8;
        int positions = g.OutPixels, patch = g.PatchLength, imageLength = g.InPixels;
        float[] xv = A(x), iv = A(images);
        float[]? mask = reluOutput is { } m ? A(m) : null;
        int xOffset = x.Offset, iOffset = images.Offset, maskOffset = reluOutput?.Offset ?? 0;
        int blocks = Math.Min(_threads, count);
        _workers.Run(blocks, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (block) =>
        {
            Span<float> weights = stackalloc float[width * Lanes];
            Span<float> products = stackalloc float[Group * Lanes];
            for (int k = 0; k < width; k++)
                for (int q = 0; q < Lanes; q++) weights[k * Lanes + q] = q < patch ? b.Data[b.Offset + k * b.Row + q * b.Column] : 0f;
            ref float w0 = ref MemoryMarshal.GetReference(weights);
            ref float out0 = ref MemoryMarshal.GetReference(products);
            for (int n = (int)((long)count * block / blocks); n < (int)((long)count * (block + 1) / blocks); n++)
            {
                var image = iv.AsSpan(iOffset + n * imageLength, imageLength);
                image.Clear();
                ref float x0 = ref xv[xOffset + n * positions * width];
                for (int p0 = 0; p0 < positions; p0 += Group)
                {
                    int group = Math.Min(Group, positions - p0);
                    ref float xp = ref Unsafe.Add(ref x0, p0 * width);
                    if (group == Group)
                    {
                        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
                        for (int k = 0; k < width; k++)
                        {
                            var w = Vector512.LoadUnsafe(ref w0, (nuint)(k * Lanes));
                            c0 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xp, k)), w, c0);
                            c1 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xp, width + k)), w, c1);
                            c2 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xp, 2 * width + k)), w, c2);
                            c3 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xp, 3 * width + k)), w, c3);
                            c4 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xp, 4 * width + k)), w, c4);
                            c5 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xp, 5 * width + k)), w, c5);
                            c6 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xp, 6 * width + k)), w, c6);
                            c7 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xp, 7 * width + k)), w, c7);
                        }
                        c0.StoreUnsafe(ref out0, 0); c1.StoreUnsafe(ref out0, Lanes); c2.StoreUnsafe(ref out0, 2 * Lanes); c3.StoreUnsafe(ref out0, 3 * Lanes);
                        c4.StoreUnsafe(ref out0, 4 * Lanes); c5.StoreUnsafe(ref out0, 5 * Lanes); c6.StoreUnsafe(ref out0, 6 * Lanes); c7.StoreUnsafe(ref out0, 7 * Lanes);
                    }
                    else
                        for (int i = 0; i < group; i++)
                        {
                            Vector512<float> c = default;
                            for (int k = 0; k < width; k++)
                                c = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xp, i * width + k)), Vector512.LoadUnsafe(ref w0, (nuint)(k * Lanes)), c);
                            c.StoreUnsafe(ref out0, (nuint)(i * Lanes));
                        }
                    int oy = p0 / g.OutWidth, ox = p0 - oy * g.OutWidth;
                    for (int i = 0; i < group; i++)
                    {
                        AddPatch(image, ref Unsafe.Add(ref out0, i * Lanes), oy, ox, g);
                        if (++ox == g.OutWidth) { ox = 0; oy++; }
                    }
                }
                if (mask is not null) KeepWherePositive(image, mask.AsSpan(maskOffset + n * imageLength, imageLength));
            }
        });
    }

    /// <summary>A one-channel patch's entries added onto the pixels the patch at (oy, ox) read (each entry onto its own
    /// pixel, so the order within a patch changes nothing; callers take the patches in order).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void AddPatch(Span<float> image, ref float entries, int oy, int ox, ConvGeometry g)
    {
        int kernel = g.Kernel, width = g.InWidth, top = oy * g.Stride - g.Padding;
        int left = ox * g.Stride - g.Padding, kx0 = Math.Max(0, -left), kx1 = Math.Min(kernel, width - left);
        ref float to = ref MemoryMarshal.GetReference(image);
        if (kernel == 3 && kx0 == 0 && kx1 == 3 && top >= 0 && top + 3 <= g.InHeight)
        {
            ref float r0 = ref Unsafe.Add(ref to, top * width + left);
            ref float r1 = ref Unsafe.Add(ref r0, width);
            ref float r2 = ref Unsafe.Add(ref r1, width);
            r0 += entries; Unsafe.Add(ref r0, 1) += Unsafe.Add(ref entries, 1); Unsafe.Add(ref r0, 2) += Unsafe.Add(ref entries, 2);
            r1 += Unsafe.Add(ref entries, 3); Unsafe.Add(ref r1, 1) += Unsafe.Add(ref entries, 4); Unsafe.Add(ref r1, 2) += Unsafe.Add(ref entries, 5);
            r2 += Unsafe.Add(ref entries, 6); Unsafe.Add(ref r2, 1) += Unsafe.Add(ref entries, 7); Unsafe.Add(ref r2, 2) += Unsafe.Add(ref entries, 8);
            return;
        }
        for (int ky = 0; ky < kernel; ky++)
        {
            int y = oy * g.Stride + ky - g.Padding;
            if ((uint)y >= (uint)g.InHeight) continue;
            for (int kx = kx0; kx < kx1; kx++) Unsafe.Add(ref to, y * g.InWidth + left + kx) += Unsafe.Add(ref entries, ky * kernel + kx);
        }
    }

    /// <summary>How many products a thread of <see cref="Col2ImOfProduct"/> computes before adding them into their images.</summary>
    const int ProductsInCache = 1 << 16;

    /// <summary>One image's col2im: each patch entry of c added onto the pixel it was read from, patch after patch, so
    /// every pixel gets its entries in patch order; a one-channel patch through <see cref="AddPatch"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Col2ImImage(float[] c, int cOffset, Span<float> image, ConvGeometry g)
    {
        int height = g.InHeight, width = g.InWidth, channels = g.Channels, kernel = g.Kernel, stride = g.Stride, padding = g.Padding;
        int outHeight = g.OutHeight, outWidth = g.OutWidth, patch = g.PatchLength;
        image.Clear();
        ref float to = ref MemoryMarshal.GetReference(image);
        ref float from = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(c), cOffset);
        for (int oy = 0; oy < outHeight; oy++)
            for (int ox = 0; ox < outWidth; ox++, from = ref Unsafe.Add(ref from, patch))
            {
                if (channels == 1) { AddPatch(image, ref from, oy, ox, g); continue; }
                int left = ox * stride - padding, kx0 = Math.Max(0, -left), kx1 = Math.Min(kernel, width - left);
                if (kx0 >= kx1) continue;
                for (int ky = 0; ky < kernel; ky++)
                {
                    int y = oy * stride + ky - padding;
                    if (y < 0 || y >= height) continue;
                    AddInto(ref Unsafe.Add(ref to, (y * width + left + kx0) * channels), ref Unsafe.Add(ref from, (ky * kernel + kx0) * channels), (kx1 - kx0) * channels);
                }
            }
    }

    /// <summary>to[0..length) = from[0..length): short runs (a 1-channel image's three pixels) one float at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Copy(ref float from, ref float to, int length)
    {
        if (length >= 16) { Unsafe.CopyBlockUnaligned(ref Unsafe.As<float, byte>(ref to), ref Unsafe.As<float, byte>(ref from), (uint)length * 4); return; }
        for (int i = 0; i < length; i++) Unsafe.Add(ref to, i) = Unsafe.Add(ref from, i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Clear(ref float to, int length)
    {
        if (length >= 16) { Unsafe.InitBlockUnaligned(ref Unsafe.As<float, byte>(ref to), 0, (uint)length * 4); return; }
        for (int i = 0; i < length; i++) Unsafe.Add(ref to, i) = 0f;
    }

    /// <summary>to[i] += from[i] for i &lt; length: each element one add, so vectorising changes no result.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void AddInto(ref float to, ref float from, int length)
    {
        int i = 0, w = Vector<float>.Count;
        for (; i + w <= length; i += w)
            (Vector.LoadUnsafe(ref to, (nuint)i) + Vector.LoadUnsafe(ref from, (nuint)i)).StoreUnsafe(ref to, (nuint)i);
        for (; i < length; i++) Unsafe.Add(ref to, i) += Unsafe.Add(ref from, i);
    }

    /// <summary>gradient[i] = <see cref="Rows.KeepWherePositive"/>(gradient[i], reluOutput[i]) (<see cref="SimdGemm.KeepWherePositiveRow"/>).</summary>
    static void KeepWherePositive(Span<float> gradient, ReadOnlySpan<float> reluOutput) =>
        SimdGemm.KeepWherePositiveRow(ref MemoryMarshal.GetReference(gradient), ref MemoryMarshal.GetReference(reluOutput), gradient.Length);

    public void AddBias(Tensor y, Tensor bias, int rows, int cols, Activation activation)
    {
        Shapes.Rows("bias", rows, cols, ("y", y, false)); Shapes.Rows("bias", 1, cols, ("bias", bias, false));
        var yv = A(y); var bv = A(bias);
        int yOffset = y.Offset, bOffset = bias.Offset;
        bool relu = activation == Activation.Relu;
        if (cols == 1)
        {
            // One column (a 1-channel image's pixels): one bias for every element, added down the whole tensor in vectors.
            float b0 = bv[bOffset];
            ForBlocks(rows, 1024, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end) =>
            {
                int i = yOffset + start, last = yOffset + end, w = Vector<float>.Count;
                var bias = new Vector<float>(b0);
                for (; i + w <= last; i += w)
                {
                    var v = new Vector<float>(yv, i) + bias;
                    if (relu) v = Vector.ConditionalSelect(Vector.GreaterThan(v, Vector<float>.Zero), v, Vector<float>.Zero);
                    v.CopyTo(yv, i);
                }
                for (; i < last; i++) yv[i] = relu ? Rows.Relu(yv[i] + b0) : yv[i] + b0;
            });
            return;
        }
        ForBlocks(rows, 1, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end) =>
        {
            ref float b = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(bv), bOffset);
            for (int r = start; r < end; r++)
                SimdGemm.AddBiasRow(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(yv), yOffset + r * cols), ref b, cols, relu);
        });
    }

    // ---- losses, optimiser, data -----------------------------------------------------------------------------

    public void SigmoidBce(Tensor logits, Tensor targets, Tensor dLogits, Tensor rowBce, Tensor rowSquaredError, int rows, int cols, float gradScale)
    {
        Shapes.Rows("sigmoid + BCE", rows, cols, ("logits", logits, false), ("targets", targets, false), ("dLogits", dLogits, false), ("rowBce", rowBce, true), ("rowSquaredError", rowSquaredError, true));
        var l = A(logits); var x = A(targets); var d = A(dLogits); var bce = A(rowBce); var se = A(rowSquaredError);
        bool wide = Wide;
        ForBlocks(rows, 1, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end) =>
        {
            int w = Vector<float>.Count;
            var one = Vector<float>.One; var scale = new Vector<float>(gradScale);
            for (int r = start; r < end; r++)
            {
                // The stable form of Loss.SigmoidBceRows, a vector of pixels at a time: e = exp(−|l|) ∈ (0, 1],
                // sigmoid = 1/(1+e) or e/(1+e), BCE = max(l, 0) − l·x + log(1 + e).
                var sumBce = Vector<float>.Zero; var sumSe = Vector<float>.Zero;
                int c = 0, row = r * cols;
                if (wide)
                {
                    var one16 = Vector512<float>.One; var scale16 = Vector512.Create(gradScale);
                    for (; c + 16 <= cols; c += 16)
                    {
                        var li = Vector512.LoadUnsafe(ref l[logits.Offset + row + c]); var xi = Vector512.LoadUnsafe(ref x[targets.Offset + row + c]);
                        AddHalves(ref sumBce, PixelBce(li, xi, out var e));
                        var s = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(li, Vector512<float>.Zero), one16, e) / (one16 + e);
                        var diff = s - xi;
                        AddHalves(ref sumSe, diff * diff);
                        (diff * scale16).StoreUnsafe(ref d[dLogits.Offset + row + c]);
                    }
                }
                for (; c + w <= cols; c += w)
                {
                    var li = new Vector<float>(l, logits.Offset + row + c); var xi = new Vector<float>(x, targets.Offset + row + c);
                    sumBce += PixelBce(li, xi, out var e);
                    var s = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(li, Vector<float>.Zero), one, e) / (one + e);
                    var diff = s - xi;
                    sumSe += diff * diff;
                    (diff * scale).CopyTo(d, dLogits.Offset + row + c);
                }
                float rowSum = Vector.Sum(sumBce), rowSq = Vector.Sum(sumSe);
                for (; c < cols; c++)
                {
                    rowSum += Loss.PixelBce(l[logits.Offset + row + c], x[targets.Offset + row + c], out float diff);
                    rowSq += diff * diff;
                    d[dLogits.Offset + row + c] = diff * gradScale;
                }
                bce[rowBce.Offset + r] = rowSum;
                se[rowSquaredError.Offset + r] = rowSq;
            }
        });
    }

    /// <summary>Loss.PixelBce on a vector of pixels: max(l, 0) − l·x + log(1 + e) with e = exp(−|l|), which SigmoidBce's
    /// sigmoid reuses. The one vector BCE of SigmoidBce and BceRows, whose row sums must agree bit for bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector<float> PixelBce(Vector<float> l, Vector<float> x, out Vector<float> e)
    {
        e = Vector.Exp(-Vector.Abs(l));
        return Vector.Max(l, Vector<float>.Zero) - l * x + LogOneToTwo(Vector<float>.One + e);
    }

    /// <summary>Whether the elementwise work whose results depend on Vector&lt;float&gt;'s width (the BCE's row sums; Adam, whose
    /// vectors take their path by their lanes) also runs 16 floats at a time in AVX-512 registers: the Vector512 path,
    /// where Vector&lt;float&gt; holds 8. Each element gets the same operations, and the BCE adds each 16 to the row's 8-lane
    /// sums as its first 8 and then its last 8, the order in which the 8-wide loop adds them: the same bits. Measured on
    /// the 2-core AMD EPYC VM (Zen 5, whose AVX-512 units are full width): BceRows of 128 × 784 on one thread 150 → 82 µs; in
    /// a VAE's real epoch SigmoidBce 120 → 76 µs and BceRows 93 → 63 µs a call; `gpuae eval` of a 2-D VAE with its IWAE
    /// bound 2.5–2.6 → 2.3 s. Adam's float rule on 419,000 parameters, one thread: 245–319 → 133–154 µs.</summary>
    bool Wide => _path == VectorPath.Vector512 && Vector<float>.Count == 8;

    /// <summary>sum += v's lower 8 floats, then its upper 8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void AddHalves(ref Vector<float> sum, Vector512<float> v)
    {
        sum += v.GetLower().AsVector();
        sum += v.GetUpper().AsVector();
    }

    /// <summary><see cref="PixelBce(Vector{float}, Vector{float}, out Vector{float})"/> on 16 pixels: the same operations,
    /// Vector512.Exp (.NET's one algorithm at every width) and <see cref="LogOneToTwo(Vector512{float})"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> PixelBce(Vector512<float> l, Vector512<float> x, out Vector512<float> e)
    {
        e = Vector512.Exp(-Vector512.Abs(l));
        return Vector512.Max(l, Vector512<float>.Zero) - l * x + LogOneToTwo(Vector512<float>.One + e);
    }

    /// <summary>Vector.Log bit for bit on [1, 2] and NaN, the range of 1 + exp(−|l|), without its subnormal stalls.
    /// Vector.Log (.NET's port of AMD's vrs4_logf) reduces x to r ∈ [−1/3, 1/3] and multiplies r⁴·r⁴; near x = 1,
    /// where most pixels' 1 + e lie, r⁸ is subnormal and each such multiply stalls the core for a microcode assist
    /// (measured: 11 ns a pixel instead of 2). Here r⁸ is taken no smaller than 2⁻¹²⁰, a normal number, unless r = 0.
    /// That changes nothing: r ≠ 0 means |r| ≥ 2⁻²³, so the polynomial's other terms sum to about r, whose half ulp
    /// (≥ 2⁻⁴⁷) dwarfs the r⁸ term (&lt; 2⁻¹²²) either way, and the fused multiply-add rounds to the same float. The
    /// rest is Vector.Log's reduction, coefficients and order of operations; a test holds every float of [1, 2] to it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> LogOneToTwo(Vector<float> x)
    {
        const uint Offset = 0x3F2AAAAB, Mantissa = 0x007FFFFF; // the bits of 2/3, the mantissa's
        const float SmallestR4 = 1f / 1152921504606846976f;  // 2⁻⁶⁰
        var vx = x.As<float, uint>() - new Vector<uint>(Offset);
        var n = Vector.ConvertToSingle(Vector.ShiftRightArithmetic(vx.As<uint, int>(), 23));
        vx = (vx & new Vector<uint>(Mantissa)) + new Vector<uint>(Offset);
        var r = vx.As<uint, float>() - Vector<float>.One;
        var r2 = r * r; var r4 = r2 * r2;
        var r4Floor = Vector.Max(r4, new Vector<float>(SmallestR4));
        var r8 = Vector.AndNot(r4Floor * r4Floor, Vector.Equals(r, Vector<float>.Zero).As<int, float>());
        var q = Vector.MultiplyAddEstimate(
            Vector.MultiplyAddEstimate(r2, new(-0.13657966f), Vector.MultiplyAddEstimate(new(+0.14401625f), r, new(-0.1197452f))),
            r8,
            Vector.MultiplyAddEstimate(
                Vector.MultiplyAddEstimate(
                    Vector.MultiplyAddEstimate(new(+0.13902695f), r, new(-0.16700386f)),
                    r2,
                    Vector.MultiplyAddEstimate(new(+0.20018855f), r, new(-0.24999046f))),
                r4,
                Vector.MultiplyAddEstimate(Vector.MultiplyAddEstimate(new(+0.33332965f), r, new(-0.5000001f)), r2, r)));
        var log = Vector.MultiplyAddEstimate(n, new Vector<float>(0.6931472f), q);
        return Vector.ConditionalSelect(Vector.Equals(x, x), log, x); // NaN stays NaN, as Vector.Log's special path has it
    }

    /// <summary><see cref="LogOneToTwo(Vector{float})"/> on 16 floats: the same reduction, floor, coefficients and order of
    /// operations written with Vector512 (.NET 10 keeps the interface that would let one generic method serve both
    /// internal); the same test holds both to Vector.Log on every float of [1, 2].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> LogOneToTwo(Vector512<float> x)
    {
        const uint Offset = 0x3F2AAAAB, Mantissa = 0x007FFFFF;
        const float SmallestR4 = 1f / 1152921504606846976f;  // 2⁻⁶⁰
        var vx = x.AsUInt32() - Vector512.Create(Offset);
        var n = Vector512.ConvertToSingle(Vector512.ShiftRightArithmetic(vx.AsInt32(), 23));
        vx = (vx & Vector512.Create(Mantissa)) + Vector512.Create(Offset);
        var r = vx.AsSingle() - Vector512<float>.One;
        var r2 = r * r; var r4 = r2 * r2;
        var r4Floor = Vector512.Max(r4, Vector512.Create(SmallestR4));
        var r8 = Vector512.AndNot(r4Floor * r4Floor, Vector512.Equals(r, Vector512<float>.Zero));
        var q = Vector512.MultiplyAddEstimate(
            Vector512.MultiplyAddEstimate(r2, Vector512.Create(-0.13657966f), Vector512.MultiplyAddEstimate(Vector512.Create(+0.14401625f), r, Vector512.Create(-0.1197452f))),
            r8,
            Vector512.MultiplyAddEstimate(
                Vector512.MultiplyAddEstimate(
                    Vector512.MultiplyAddEstimate(Vector512.Create(+0.13902695f), r, Vector512.Create(-0.16700386f)),
                    r2,
                    Vector512.MultiplyAddEstimate(Vector512.Create(+0.20018855f), r, Vector512.Create(-0.24999046f))),
                r4,
                Vector512.MultiplyAddEstimate(Vector512.MultiplyAddEstimate(Vector512.Create(+0.33332965f), r, Vector512.Create(-0.5000001f)), r2, r)));
        var log = Vector512.MultiplyAddEstimate(n, Vector512.Create(0.6931472f), q);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), log, x);
    }

    /// <summary>SigmoidBce's rowBce alone: the same vector body and order of sums, without the sigmoid, the squared error and
    /// the gradient (a division and a store per vector of pixels).</summary>
    public void BceRows(Tensor logits, Tensor targets, Tensor rowBce, int rows, int cols)
    {
        Shapes.Rows("BCE rows", rows, cols, ("logits", logits, false), ("targets", targets, false), ("rowBce", rowBce, true));
        var l = A(logits); var x = A(targets); var bce = A(rowBce);
        bool wide = Wide;
        ForBlocks(rows, 1, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end) =>
        {
            int w = Vector<float>.Count;
            for (int r = start; r < end; r++)
            {
                var sumBce = Vector<float>.Zero;
                int c = 0, row = r * cols;
                if (wide)
                    for (; c + 16 <= cols; c += 16)
                        AddHalves(ref sumBce, PixelBce(Vector512.LoadUnsafe(ref l[logits.Offset + row + c]), Vector512.LoadUnsafe(ref x[targets.Offset + row + c]), out _));
                for (; c + w <= cols; c += w)
                {
                    var li = new Vector<float>(l, logits.Offset + row + c); var xi = new Vector<float>(x, targets.Offset + row + c);
                    sumBce += PixelBce(li, xi, out _);
                }
                float rowSum = Vector.Sum(sumBce);
                for (; c < cols; c++) rowSum += Loss.PixelBce(l[logits.Offset + row + c], x[targets.Offset + row + c], out _);
                bce[rowBce.Offset + r] = rowSum;
            }
        });
    }

    /// <summary>Loss.SoftmaxCrossEntropyRow, row by row (ten columns: nothing for vectors to do).</summary>
    public void SoftmaxCrossEntropy(Tensor logits, Tensor targets, Tensor dLogits, Tensor rowLoss, Tensor rowCorrect, int rows, int cols, float gradScale)
    {
        Shapes.Rows("softmax cross-entropy", rows, cols, ("logits", logits, false), ("targets", targets, false), ("dLogits", dLogits, false), ("rowLoss", rowLoss, true), ("rowCorrect", rowCorrect, true));
        var loss = A(rowLoss); var correct = A(rowCorrect);
        ForBlocks(rows, 1, (start, end) =>
        {
            for (int r = start; r < end; r++)
            {
                var result = Loss.SoftmaxCrossEntropyRow(Row(logits, r, cols), Row(targets, r, cols), Row(dLogits, r, cols), cols, gradScale);
                loss[rowLoss.Offset + r] = result.Loss;
                correct[rowCorrect.Offset + r] = result.Correct;
            }
        });
    }

    /// <summary>Loss.HalfSquaredErrorRow, rows split across threads.</summary>
    public void HalfSquaredError(Tensor predictions, Tensor targets, Tensor dPredictions, Tensor rowLoss, int rows, int cols, float gradScale)
    {
        Shapes.Rows("half squared error", rows, cols, ("predictions", predictions, false), ("targets", targets, false), ("dPredictions", dPredictions, false), ("rowLoss", rowLoss, true));
        var loss = A(rowLoss);
        ForBlocks(rows, 1, (start, end) =>
        {
            for (int r = start; r < end; r++)
                loss[rowLoss.Offset + r] = Loss.HalfSquaredErrorRow(Row(predictions, r, cols), Row(targets, r, cols), Row(dPredictions, r, cols), cols, gradScale);
        });
    }

    public void BinaryCorrect(Tensor logits, Tensor targets, Tensor correct)
    {
        Shapes.Rows("binary correct", 1, correct.Length, ("logits", logits, false), ("targets", targets, false));
        var l = S(logits); var t = S(targets); var c = S(correct);
        for (int i = 0; i < c.Length; i++) c[i] = Loss.BinaryCorrect(l[i], t[i]);
    }

    public void AccumulateSum(Tensor values, int count, Tensor accumulator, int slot, float scale = 1f)
    {
        Shapes.AccumulateSum(values, count, accumulator, slot);
        var v = S(values);
        float sum = 0f;
        for (int i = 0; i < count; i++) sum += v[i];
        S(accumulator)[slot] += scale * sum;
    }

    public void Adam(Tensor parameters, Tensor gradients, Tensor firstMoment, Tensor secondMoment, AdamStep s, NonFiniteWatch? watch = null,
        IndexTensor? stepRecord = null)
    {
        Shapes.Adam(parameters, gradients, firstMoment, secondMoment, watch, stepRecord);
        var check = NonFiniteCheck.For(watch);
        AdamSource.For(stepRecord).Resolve(Elements(stepRecord), ref s, ref check);
        if (watch is { } w) Loss.FlagIfNonFinite(S(w.Sums)[check.Slot], Elements(w.Flag), check.Step);
        var p = A(parameters); var g = A(gradients); var m = A(firstMoment); var v = A(secondMoment);
        bool wide = Wide;
        ForBlocks(parameters.Length, 4096, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end) =>
        {
            // Vectors first, the same operations in the same order per element, so results equal the scalar tail's.
            var beta1 = new Vector<float>(s.Beta1); var beta2 = new Vector<float>(s.Beta2);
            var oneMinusBeta1 = new Vector<float>(1f - s.Beta1); var oneMinusBeta2 = new Vector<float>(1f - s.Beta2);
            var bc1 = new Vector<float>(s.BiasCorrection1); var bc2 = new Vector<float>(s.BiasCorrection2);
            var lr = new Vector<float>(s.LearningRate); var eps = new Vector<float>(s.Epsilon);
            var steady = new Vector<float>(SteadyParameter(s));
            int i = start, w = Vector<float>.Count;
            // On the wide path 16 floats at a time: the float rule where none of them is tiny, else each 8 through the
            // 8-wide body, which picks its path.
            if (wide)
                for (; i + 16 <= end; i += 16)
                    if (!WideFloatRule(i)) { Step(i); Step(i + w); }
            for (; i + w <= end; i += w) Step(i);
            for (; i < end; i++) AdamKernels.Apply(i, g[gradients.Offset + i], Elements(parameters), Elements(firstMoment), Elements(secondMoment), s);

            // The float rule on the 16 floats at i, unless one of them is tiny (then false, and nothing written).
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            bool WideFloatRule(int i)
            {
                var grad = Vector512.LoadUnsafe(ref g[gradients.Offset + i]); var mOld = Vector512.LoadUnsafe(ref m[firstMoment.Offset + i]);
                if (TinyAny(mOld, SmallMoment) || TinyAny(grad, SmallGradient)) return false;
                var vOld = Vector512.LoadUnsafe(ref v[secondMoment.Offset + i]); var pOld = Vector512.LoadUnsafe(ref p[parameters.Offset + i]);
                var mi = Vector512.Create(s.Beta1) * mOld + Vector512.Create(1f - s.Beta1) * grad;
                var vi = Vector512.Create(s.Beta2) * vOld + Vector512.Create(1f - s.Beta2) * grad * grad;
                var pi = pOld - Vector512.Create(s.LearningRate) * (mi / Vector512.Create(s.BiasCorrection1))
                         / (Vector512.Sqrt(vi / Vector512.Create(s.BiasCorrection2)) + Vector512.Create(s.Epsilon));
                mi.StoreUnsafe(ref m[firstMoment.Offset + i]);
                vi.StoreUnsafe(ref v[secondMoment.Offset + i]);
                pi.StoreUnsafe(ref p[parameters.Offset + i]);
                return true;
            }

            // The 8 floats at i by their path: the float rule, the decaying lanes' or the double one.
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            void Step(int i)
            {
                var grad = new Vector<float>(g, gradients.Offset + i);
                var mOld = new Vector<float>(m, firstMoment.Offset + i); var vOld = new Vector<float>(v, secondMoment.Offset + i);
                var pOld = new Vector<float>(p, parameters.Offset + i);
                var tinyM = TinyLanes(mOld, SmallMoment); var tinyG = TinyLanes(grad, SmallGradient);
                var mFloat = mOld;
                bool decaying = false;
                if ((tinyM | tinyG) != Vector<uint>.Zero)
                {
                    var merelyDecaying = Vector.Equals(grad, Vector<float>.Zero).As<int, uint>() & Vector.GreaterThanOrEqual(Vector.Abs(pOld), steady).As<int, uint>();
                    if (tinyG != Vector<uint>.Zero || Vector.AndNot(tinyM, merelyDecaying) != Vector<uint>.Zero)
                    {
                        var (md, vd, pd) = AdamInDouble(pOld, grad, mOld, vOld, s);
                        md.CopyTo(m, firstMoment.Offset + i); vd.CopyTo(v, secondMoment.Offset + i); pd.CopyTo(p, parameters.Offset + i);
                        return;
                    }
                    mFloat = Vector.AndNot(mOld, tinyM.As<uint, float>()); // their m as 0 in the float body: it leaves their p and v as the rule does
                    decaying = true;
                }
                var mi = beta1 * mFloat + oneMinusBeta1 * grad;
                var vi = beta2 * vOld + oneMinusBeta2 * grad * grad;
                var pi = pOld - lr * (mi / bc1) / (Vector.SquareRoot(vi / bc2) + eps);
                if (decaying) mi = Vector.ConditionalSelect(tinyM.As<uint, int>(), FirstMomentInDouble(mOld, grad, s), mi);
                mi.CopyTo(m, firstMoment.Offset + i);
                vi.CopyTo(v, secondMoment.Offset + i);
                pi.CopyTo(p, parameters.Offset + i);
            }
        });
    }

    // Adam and subnormal numbers. A moment whose gradient stays 0 (a weight of a pixel blank in every image of the
    // batch, of a unit that is off) decays by β₁ or β₂ a step into the subnormal range, where every multiply and divide
    // it enters stops the core for a microcode assist: measured on a dense AE's second epoch, 47,000 of its 419,000
    // first moments were subnormal and Adam took 1.1 ms a step instead of 0.2 ms (Xeon VM). Additions and conversions
    // between float and double take subnormals at full speed, and a vector with a moment below 2⁻¹⁰⁰ or a gradient below
    // 2⁻⁵⁵ (whose (1 − β₂)·g·g would go below 2⁻¹²⁶) takes one of two paths that give the float rule's bits without them
    // (AdamTests holds every backend to AdamKernels.Apply on all of these):
    //  - the common case, every tiny moment's gradient 0 and its parameter at least SteadyParameter: the float body with
    //    those moments taken as 0, which gives their p and v exactly (the step a moment below 2⁻¹⁰⁰ makes is below half
    //    an ulp of such a p, so the rule leaves p as it is, and v does not depend on m), and their new m = β₁·m in double,
    //    rounded to float;
    //  - otherwise the whole vector in double, each float operation of the rule computed in double and rounded to float
    //    (Narrow, then Widen back) before the next: a product of two floats is exact in double, and a sum, quotient or
    //    square root rounded to double and then to float is the float one (53 ≥ 2·24 + 2 bits; Figueroa, 1995; on the
    //    subnormal range the float grid is coarser still). This path is one long chain of conversions, about 80 ns a vector.
    // Only the choice of path depends on the thresholds.
    const uint SmallMoment = 0x0D80_0000;  // 2⁻¹⁰⁰
    const uint SmallGradient = 0x2400_0000; // 2⁻⁵⁵

    /// <summary>Whether a lane of x is non-zero and smaller in magnitude than the float whose bits are <paramref name="below"/>
    /// (<see cref="TinyLanes"/> on 16 floats).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool TinyAny(Vector512<float> x, uint below) =>
        Vector512.LessThanAny((x.AsUInt32() & Vector512.Create(0x7FFF_FFFFu)) - Vector512<uint>.One, Vector512.Create(below - 1));

    /// <summary>All ones in the lanes of x that are non-zero and smaller in magnitude than the float whose bits are <paramref name="below"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector<uint> TinyLanes(Vector<float> x, uint below) =>
        Vector.LessThan((x.As<float, uint>() & new Vector<uint>(0x7FFF_FFFF)) - Vector<uint>.One, new Vector<uint>(below - 1));

    /// <summary>The smallest |p| that the step of a first moment below 2⁻¹⁰⁰ (its gradient 0) cannot move: that step,
    /// lr·(m/(1−β₁ᵗ))/(√… + ε) with each operation rounded, is at most B = 2·(lr·(2⁻¹⁰⁰/(1−β₁ᵗ) + 2⁻¹⁴⁹) + 2⁻¹⁴⁹)/ε + 2⁻¹⁴⁸
    /// (the denominator is at least ε, a rounding adds at most 2⁻¹⁵⁰ or a factor 1 + 2⁻²⁴, and the 2 covers them), and
    /// half an ulp of a p with |p| ≥ 2²⁶·B exceeds 2·B. Infinity (no lane qualifies) for hyperparameters outside the proof.</summary>
    static float SteadyParameter(AdamStep s)
    {
        if (!(s.Epsilon > 0 && s.BiasCorrection1 > 0 && s.Beta1 is >= 0 and <= 1 && float.IsFinite(s.LearningRate))) return float.PositiveInfinity;
        double step = 2 * (Math.Abs(s.LearningRate) * (Math.ScaleB(1.0, -100) / s.BiasCorrection1 + Math.ScaleB(1.0, -149)) + Math.ScaleB(1.0, -149)) / s.Epsilon
                      + Math.ScaleB(1.0, -148);
        double steady = step * Math.ScaleB(1.0, 26);
        return steady < float.MaxValue ? (float)steady : float.PositiveInfinity;
    }

    /// <summary>β₁·m + (1 − β₁)·g as the float rule rounds it, computed in double (see above).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector<float> FirstMomentInDouble(Vector<float> m, Vector<float> g, AdamStep s)
    {
        Vector.Widen(m, out var mLow, out var mHigh); Vector.Widen(g, out var gLow, out var gHigh);
        return Vector.Narrow(Half(mLow, gLow, s), Half(mHigh, gHigh, s));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector<double> Half(Vector<double> m, Vector<double> g, AdamStep s) => F(F(D(s.Beta1) * m) + F(D(1f - s.Beta1) * g));
    }

    /// <summary>The vector body's Adam rule with the float operations that may meet a subnormal (those on m and on the
    /// step it makes) done in double and rounded to float at once (see above); √(v/(1−β₂ᵗ)) + ε, on a moment that decays
    /// a thousand times slower, stays in float (a double division or square root costs twice a float one per lane).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector<float> M, Vector<float> V, Vector<float> P) AdamInDouble(Vector<float> p, Vector<float> g, Vector<float> m, Vector<float> v, AdamStep s)
    {
        var mi = FirstMomentInDouble(m, g, s);
        Vector.Widen(g, out var gLow, out var gHigh); Vector.Widen(v, out var vLow, out var vHigh);
        var vi = Vector.Narrow(SecondMoment(vLow, gLow, s), SecondMoment(vHigh, gHigh, s));
        var denominator = Vector.SquareRoot(vi / new Vector<float>(s.BiasCorrection2)) + new Vector<float>(s.Epsilon);
        Vector.Widen(p, out var pLow, out var pHigh); Vector.Widen(mi, out var miLow, out var miHigh); Vector.Widen(denominator, out var dLow, out var dHigh);
        return (mi, vi, Vector.Narrow(Descend(pLow, miLow, dLow, s), Descend(pHigh, miHigh, dHigh, s)));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector<double> SecondMoment(Vector<double> v, Vector<double> g, AdamStep s) => F(F(D(s.Beta2) * v) + F(F(D(1f - s.Beta2) * g) * g));
        // m/(1 − β₁ᵗ) is m itself once 1 − β₁ᵗ rounds to 1 (after 155 steps at β₁ = 0.9): a double division saved.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector<double> Descend(Vector<double> p, Vector<double> m, Vector<double> denominator, AdamStep s) =>
            F(p - F(F(D(s.LearningRate) * (s.BiasCorrection1 == 1f ? m : F(m / D(s.BiasCorrection1)))) / denominator));
    }

    /// <summary>A float as a vector of doubles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector<double> D(float x) => new(x);

    /// <summary>Each double rounded to the nearest float (ties to even, subnormals included), as a double again.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector<double> F(Vector<double> x) { Vector.Widen(Vector.Narrow(x, x), out var rounded, out _); return rounded; }

    public void BeginStep(IndexTensor schedule, IndexTensor record) => StepRecord.Advance(Elements(schedule), Elements(record));

    /// <summary>A per-step number: the launch's, or the step record's.</summary>
    static long Read(StepValue value) => value.Argument.In(Elements(value.Record));

    public void GatherRows(Tensor data, IndexTensor order, StepValue firstRow, int rows, int cols, Tensor destination)
    {
        Shapes.GatherRows(order, firstRow, rows, cols, data, destination);
        var o = A(order);
        int start = (int)Read(firstRow);
        for (int r = 0; r < rows; r++)
            Array.Copy(A(data), data.Offset + o[order.Offset + start + r] * cols, A(destination), destination.Offset + r * cols, cols);
    }

    public void CopyColumns(Tensor source, Tensor destination, ColumnCopy copy)
    {
        Shapes.CopyColumns(source, destination, copy);
        for (int r = 0; r < copy.Rows; r++)
            Array.Copy(A(source), source.Offset + r * copy.SourceWidth + copy.SourceColumn,
                A(destination), destination.Offset + r * copy.DestinationWidth + copy.DestinationColumn, copy.Columns);
    }

    public void Sigmoid(Tensor x, Tensor y)
    {
        Shapes.Rows("sigmoid", 1, y.Length, ("x", x, false));
        var xv = A(x); var yv = A(y);
        ForBlocks(y.Length, 1024, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end) =>
        {
            for (int i = start; i < end; i++) yv[y.Offset + i] = Rows.Logistic(xv[x.Offset + i]);
        });
    }

    public void SigmoidBackward(Tensor y, Tensor dy, Tensor dx)
    {
        Shapes.Rows("sigmoid backward", 1, dx.Length, ("y", y, false), ("dy", dy, false));
        Elementwise<SigmoidGradient>(y, dy, dx, new());
    }

    public void LeakyRelu(Tensor x, Tensor y, float slope)
    {
        Shapes.Rows("leaky ReLU", 1, y.Length, ("x", x, false));
        Elementwise<Leaky>(x, x, y, new(slope));
    }

    public void LeakyReluBackward(Tensor x, Tensor dy, Tensor dx, float slope)
    {
        Shapes.Rows("leaky ReLU backward", 1, dx.Length, ("x", x, false), ("dy", dy, false));
        Elementwise<LeakyGradient>(x, dy, dx, new(slope));
    }

    public void AddScaled(Tensor x, Tensor y, float scale)
    {
        Shapes.Rows("add scaled", 1, y.Length, ("x", x, false));
        Elementwise<PlusScaled>(x, x, y, new(scale));
    }

    /// <summary>An elementwise op: output = f(a, b, output), on a vector of elements and on one, the same float
    /// operations (the kernels' helper in <see cref="Rows"/>), so the vectors and the tail agree bit for bit.</summary>
    interface IElementwise
    {
        Vector<float> Of(Vector<float> a, Vector<float> b, Vector<float> output);
        float Of(float a, float b, float output);
    }

    readonly struct SigmoidGradient : IElementwise
    {
        public Vector<float> Of(Vector<float> s, Vector<float> gradient, Vector<float> _) => gradient * s * (Vector<float>.One - s);
        public float Of(float s, float gradient, float _) => Rows.LogisticGradient(gradient, s);
    }

    readonly struct Leaky(float slope) : IElementwise
    {
        public Vector<float> Of(Vector<float> v, Vector<float> _, Vector<float> __) => Vector.ConditionalSelect(Vector.GreaterThan(v, Vector<float>.Zero), v, new Vector<float>(slope) * v);
        public float Of(float v, float _, float __) => Rows.Leaky(v, slope);
    }

    readonly struct LeakyGradient(float slope) : IElementwise
    {
        public Vector<float> Of(Vector<float> input, Vector<float> gradient, Vector<float> _) =>
            Vector.ConditionalSelect(Vector.GreaterThan(input, Vector<float>.Zero), gradient, new Vector<float>(slope) * gradient);
        public float Of(float input, float gradient, float _) => Rows.LeakyGradient(gradient, input, slope);
    }

    readonly struct PlusScaled(float scale) : IElementwise
    {
        public Vector<float> Of(Vector<float> x, Vector<float> _, Vector<float> sum) => sum + new Vector<float>(scale) * x;
        public float Of(float x, float _, float sum) => Rows.PlusScaled(sum, x, scale);
    }

    /// <summary>output[i] = op(a[i], b[i], output[i]) for i &lt; output.Length, vectors first, split across threads (the
    /// op a struct, so the JIT compiles the loop for each and inlines it).</summary>
    void Elementwise<TOp>(Tensor a, Tensor b, Tensor output, TOp op) where TOp : struct, IElementwise
    {
        var av = A(a); var bv = A(b); var o = A(output);
        int aOffset = a.Offset, bOffset = b.Offset, oOffset = output.Offset;
        ForBlocks(output.Length, 1024, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end) =>
        {
            int i = start, w = Vector<float>.Count;
            for (; i + w <= end; i += w)
                op.Of(new Vector<float>(av, aOffset + i), new Vector<float>(bv, bOffset + i), new Vector<float>(o, oOffset + i)).CopyTo(o, oOffset + i);
            for (; i < end; i++) o[oOffset + i] = op.Of(av[aOffset + i], bv[bOffset + i], o[oOffset + i]);
        });
    }

    // ---- the VAE: the same formulas as Sampling and Iwae, looped on the host -----------------------------------

    public void NormalNoise(Tensor noise, ulong seed, StepValue stepValue)
    {
        var n = A(noise);
        long step = Read(stepValue);
        ForBlocks(noise.Length, 64, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end) =>
        {
            for (int i = start; i < end; i++) n[noise.Offset + i] = Sampling.Normal(seed, Sampling.StepStream(step), (ulong)i);
        });
    }

    public void Reparameterize(Tensor enc, Tensor noise, Tensor z, int rows, int latent)
    {
        Shapes.Latent("reparameterise", enc, rows, latent, ("noise", noise, latent), ("z", z, latent));
        var e = S(enc); var n = S(noise); var zv = S(z);
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < latent; j++)
                zv[r * latent + j] = Sampling.Sample(e[r * 2 * latent + j], e[r * 2 * latent + latent + j], n[r * latent + j]);
    }

    public void ReparameterizeBackward(Tensor enc, Tensor noise, Tensor dz, Tensor denc, Tensor rowKl, int rows, int latent, float klWeightOverRows)
    {
        Shapes.Latent("reparameterise backward", enc, rows, latent, ("noise", noise, latent), ("dz", dz, latent), ("denc", denc, 2 * latent), ("rowKl", rowKl, 1));
        var kl = S(rowKl);
        for (int r = 0; r < rows; r++)
            kl[r] = Sampling.SampleBackwardRow(Row(enc, r, 2 * latent), Row(noise, r, latent), Row(dz, r, latent), Row(denc, r, 2 * latent), latent, klWeightOverRows);
    }

    public void KlRows(Tensor enc, Tensor rowKl, int rows, int latent)
    {
        Shapes.Latent("KL rows", enc, rows, latent, ("rowKl", rowKl, 1));
        var kl = S(rowKl);
        for (int r = 0; r < rows; r++) kl[r] = Sampling.KlRow(Row(enc, r, 2 * latent), latent);
    }

    public void ImportanceLogWeights(Tensor enc, Tensor noise, Tensor z, Tensor rowBce, Tensor logWeights, int sample, int rows, int latent)
    {
        Shapes.Latent("IWAE log-weights", enc, rows, latent, ("noise", noise, latent), ("z", z, latent), ("rowBce", rowBce, 1), ("logWeights", logWeights, sample + 1));
        var bce = S(rowBce); var lw = S(logWeights);
        for (int r = 0; r < rows; r++)
            lw[sample * rows + r] = Iwae.LogWeight(bce[r], Row(enc, r, 2 * latent), Row(noise, r, latent), Row(z, r, latent), latent);
    }

    public void NegativeLogMeanExp(Tensor logWeights, int samples, int rows, Tensor rowBound)
    {
        Shapes.LogMeanExp(logWeights, rowBound, samples, rows);
        var bound = S(rowBound);
        for (int r = 0; r < rows; r++) bound[r] = Iwae.NegativeLogMeanExpRow(Row(logWeights, r, 1), samples, rows);
    }
}
