using ILGPU;
using ILGPU.Runtime;

namespace GpuAe.Kernels;

/// <summary>
/// The shape of one 2-D convolution over channels-last images, images[n, y, x, c] (NHWC): a KxK kernel moved with
/// <see cref="Stride"/> over the input padded by <see cref="Padding"/> zeros, giving an OutHeight × OutWidth output.
/// A transposed convolution uses the geometry of the convolution it inverts (its output is this geometry's input).
/// </summary>
public readonly record struct ConvGeometry(int InHeight, int InWidth, int Channels, int Kernel, int Stride, int Padding)
{
    public int OutHeight => (InHeight + 2 * Padding - Kernel) / Stride + 1;
    public int OutWidth => (InWidth + 2 * Padding - Kernel) / Stride + 1;
    public int InPixels => InHeight * InWidth;
    public int OutPixels => OutHeight * OutWidth;
    /// <summary>Length of one im2col row: the KxK patch of every channel, ordered (ky, kx, c).</summary>
    public int PatchLength => Kernel * Kernel * Channels;
}

/// <summary>
/// Convolutions as GEMMs. <see cref="Im2Col"/> copies every output position's input patch into one row of a matrix,
/// so a convolution is that matrix times the weights (the dense layers' GEMM, bias and ReLU included), and its weight
/// gradient is the GEMM's weight gradient. <see cref="Col2Im"/> is the exact adjoint: it adds every patch entry back
/// onto the pixel it came from. It is written as a gather (each pixel sums the patch entries that read it, in a fixed
/// order), not a scatter with atomics, so results are deterministic.
/// Both take their geometry as an ILGPU SpecializedValue: on a GPU each geometry (four in the conv models) gets its own
/// kernel, compiled at its first launch with the geometry's numbers as constants, so that the integer divisions by
/// channels, widths and stride (about 8 per element in im2col, up to 40 in col2im) become multiplications. On an H200
/// the conv models' widest im2col and col2im took about 8× the time of their memory traffic (BENCHMARKS.md):
/// divisions, by count (not yet measured since).
/// </summary>
public static class Conv
{
    /// <summary>cols[(n, oy, ox), (ky, kx, c)] = images[n, oy·s + ky − p, ox·s + kx − p, c], zero outside the image, for
    /// count images. Grid-stride over <paramref name="threads"/> threads, one element of cols each.</summary>
    public static void Im2Col(Index1D thread, int threads, SpecializedValue<ConvGeometry> geometry, int count, ArrayView<float> images, ArrayView<float> cols)
    {
        ConvGeometry g = geometry;
        int patch = g.PatchLength, size = count * g.OutPixels * patch;
        for (int i = thread; i < size; i += threads)
        {
            int position = i / patch, e = i - position * patch;          // output position (n, oy, ox); patch entry
            int n = position / g.OutPixels, p = position - n * g.OutPixels;
            int oy = p / g.OutWidth, ox = p - oy * g.OutWidth;
            int k = e / g.Channels, c = e - k * g.Channels;
            int ky = k / g.Kernel, kx = k - ky * g.Kernel;
            int y = oy * g.Stride + ky - g.Padding, x = ox * g.Stride + kx - g.Padding;
            cols[i] = y >= 0 && y < g.InHeight && x >= 0 && x < g.InWidth ? images[((n * g.InHeight + y) * g.InWidth + x) * g.Channels + c] : 0f;
        }
    }

    /// <summary>images[n, y, x, c] = Σ over the (ky, kx) whose output position (oy, ox) reads (y, x) of
    /// cols[(n, oy, ox), (ky, kx, c)], summed in (ky, kx) order; then, when <paramref name="masked"/> is 1, zero where
    /// mask ≤ 0 (the ReLU backward of the layer that produced the images). Overwrites. Grid-stride, one pixel-channel each.</summary>
    public static void Col2Im(Index1D thread, int threads, SpecializedValue<ConvGeometry> geometry, int count, ArrayView<float> cols,
        int masked, ArrayView<float> mask, ArrayView<float> images)
    {
        ConvGeometry g = geometry;
        int patch = g.PatchLength, size = count * g.InPixels * g.Channels;
        for (int i = thread; i < size; i += threads)
        {
            int pixel = i / g.Channels, c = i - pixel * g.Channels;
            int n = pixel / g.InPixels, p = pixel - n * g.InPixels;
            int y = p / g.InWidth, x = p - y * g.InWidth;
            float sum = 0f;
            for (int ky = 0; ky < g.Kernel; ky++)
            {
                int ty = y + g.Padding - ky;                               // = oy·s when output row oy reads row y
                if (ty < 0 || ty % g.Stride != 0 || ty / g.Stride >= g.OutHeight) continue;
                for (int kx = 0; kx < g.Kernel; kx++)
                {
                    int tx = x + g.Padding - kx;
                    if (tx < 0 || tx % g.Stride != 0 || tx / g.Stride >= g.OutWidth) continue;
                    int position = (n * g.OutHeight + ty / g.Stride) * g.OutWidth + tx / g.Stride;
                    sum += cols[position * patch + (ky * g.Kernel + kx) * g.Channels + c];
                }
            }
            images[i] = masked != 0 ? Rows.KeepWherePositive(sum, mask[i]) : sum;
        }
    }

    /// <summary>y[r, c] = act(y[r, c] + bias[c]) over y[rows, cols], in place: the bias and ReLU of a transposed
    /// convolution, whose output is only complete after <see cref="Col2Im"/>. Grid-stride.</summary>
    public static void AddBias(Index1D thread, int threads, ArrayView<float> y, int size, int cols, ArrayView<float> bias, int relu)
    {
        for (int i = thread; i < size; i += threads)
        {
            float v = y[i] + bias[i % cols];
            y[i] = relu != 0 ? Rows.Relu(v) : v;
        }
    }
}
