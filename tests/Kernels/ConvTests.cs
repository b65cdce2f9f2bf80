using GpuAe.Kernels;
using Xunit;

namespace GpuAe.Tests.Kernels;

/// <summary>The convolution kernels (im2col, its adjoint col2im with the ReLU mask, bias + activation, column sums) on
/// every backend against plain C# references written from the definitions, not from the kernels' index arithmetic.</summary>
public class ConvTests
{
    // ---- plain C# references -------------------------------------------------------------------------------------

    /// <summary>The input value a KxK kernel at output (oy, ox), offset (ky, kx), sees: zero in the padding.</summary>
    static float Input(float[] images, ConvGeometry g, int n, int oy, int ox, int ky, int kx, int c)
    {
        int y = oy * g.Stride - g.Padding + ky, x = ox * g.Stride - g.Padding + kx;
        bool inside = 0 <= y && y < g.InHeight && 0 <= x && x < g.InWidth;
        return inside ? images[((n * g.InHeight + y) * g.InWidth + x) * g.Channels + c] : 0f;
    }

    /// <summary>Direct convolution, NHWC, weights [outChannels, ky, kx, c]: y[n, oy, ox, o] = b[o] + Σ w·input.</summary>
    public static double[] DirectConvolution(float[] images, float[] w, float[] b, ConvGeometry g, int count, int outChannels)
    {
        var y = new double[count * g.OutPixels * outChannels];
        for (int n = 0; n < count; n++)
            for (int oy = 0; oy < g.OutHeight; oy++)
                for (int ox = 0; ox < g.OutWidth; ox++)
                    for (int o = 0; o < outChannels; o++)
                    {
                        double sum = b[o];
                        for (int ky = 0; ky < g.Kernel; ky++)
                            for (int kx = 0; kx < g.Kernel; kx++)
                                for (int c = 0; c < g.Channels; c++)
                                    sum += (double)w[((o * g.Kernel + ky) * g.Kernel + kx) * g.Channels + c] * Input(images, g, n, oy, ox, ky, kx, c);
                        y[((n * g.OutHeight + oy) * g.OutWidth + ox) * outChannels + o] = sum;
                    }
        return y;
    }

    /// <summary>Every patch entry that lies on the image, in patch order (image, oy, ox, ky, kx, c): its index in the
    /// columns and the index of the input pixel it was read from.</summary>
    static IEnumerable<(int Entry, int Pixel)> PatchEntries(ConvGeometry g, int count)
    {
        int at = 0;
        for (int n = 0; n < count; n++)
            for (int oy = 0; oy < g.OutHeight; oy++)
                for (int ox = 0; ox < g.OutWidth; ox++)
                    for (int ky = 0; ky < g.Kernel; ky++)
                        for (int kx = 0; kx < g.Kernel; kx++)
                            for (int c = 0; c < g.Channels; c++, at++)
                            {
                                int y = oy * g.Stride - g.Padding + ky, x = ox * g.Stride - g.Padding + kx;
                                if (0 <= y && y < g.InHeight && 0 <= x && x < g.InWidth)
                                    yield return (at, ((n * g.InHeight + y) * g.InWidth + x) * g.Channels + c);
                            }
    }

    /// <summary>col2im as a scatter: every patch entry is added onto the input pixel it was read from.</summary>
    static double[] ScatterPatches(float[] cols, ConvGeometry g, int count)
    {
        var images = new double[count * g.InPixels * g.Channels];
        foreach (var (entry, pixel) in PatchEntries(g, count)) images[pixel] += cols[entry];
        return images;
    }

    // Geometries: the conv models' two (stride 2, padding 1), stride 1 with padding, no padding on a non-square
    // image, a kernel larger than the stride gap (5, stride 3) where some pixels are read by no patch.
    public static IEnumerable<object[]> Geometries => TestBackends.Cross(
        [new ConvGeometry(28, 28, 1, 3, 2, 1), 2], [new ConvGeometry(14, 14, 5, 3, 2, 1), 3], [new ConvGeometry(6, 5, 3, 3, 1, 1), 2],
        [new ConvGeometry(7, 9, 2, 3, 1, 0), 3], [new ConvGeometry(11, 8, 2, 2, 3, 0), 2]);

    [Theory, MemberData(nameof(Geometries))]
    public void Im2ColThenTheGemmIsTheDirectConvolution(string backend, ConvGeometry g, int count)
    {
        var be = TestBackends.Get(backend);
        const int outChannels = 4;
        var images = Values.Random(count * g.InPixels * g.Channels, 60); var w = Values.Random(outChannels * g.PatchLength, 61, 0.5f);
        var b = Values.Random(outChannels, 62);
        var cols = be.Allocate(count * g.OutPixels * g.PatchLength); var y = be.Allocate(count * g.OutPixels * outChannels);
        be.Im2Col(be.Up(images), cols, count, g);
        be.DenseForward(cols, be.Up(w), be.Up(b), y, count * g.OutPixels, g.PatchLength, outChannels, Activation.None);
        Values.AssertClose(DirectConvolution(images, w, b, g, count, outChannels), be.Down(y), 1e-5, "convolution");
    }

    [Theory, MemberData(nameof(Geometries))]
    public void Col2ImAddsEveryPatchEntryBackOntoItsPixelThenMasks(string backend, ConvGeometry g, int count)
    {
        var be = TestBackends.Get(backend);
        var cols = Values.Random(count * g.OutPixels * g.PatchLength, 63);
        var mask = Values.Random(count * g.InPixels * g.Channels, 64);
        var images = be.Allocate(mask.Length);
        be.Fill(images, 9f); // overwritten, not added to
        be.Col2Im(be.Up(cols), images, count, g, null);
        var expected = ScatterPatches(cols, g, count);
        Values.AssertClose(expected, be.Down(images), 1e-6, "col2im");
        be.Col2Im(be.Up(cols), images, count, g, be.Up(mask));
        Values.AssertClose(expected.Select((v, i) => mask[i] > 0 ? v : 0).ToArray(), be.Down(images), 1e-6, "col2im + ReLU mask");
    }

    /// <summary>The SIMD col2im adds each pixel's patch entries in patch order, so it is the float scatter in that order
    /// bit for bit (the committed runs' numbers depend on it). Mutant: the kernel row as the outer loop (a pixel's entries
    /// then come kernel row first) → the geometries whose patches overlap fail on every SIMD path.</summary>
    [Theory, MemberData(nameof(Geometries))]
    public void SimdCol2ImAddsEachPixelsEntriesInPatchOrder(string backend, ConvGeometry g, int count)
    {
        if (TestBackends.Get(backend) is not GpuAe.Simd.SimdBackend) return;
        var be = TestBackends.Get(backend);
        var cols = Values.Random(count * g.OutPixels * g.PatchLength, 65);
        var expected = new float[count * g.InPixels * g.Channels];
        foreach (var (entry, pixel) in PatchEntries(g, count)) expected[pixel] += cols[entry]; // in float, in patch order
        var images = be.Allocate(expected.Length);
        be.Col2Im(be.Up(cols), images, count, g, null);
        var actual = be.Down(images);
        int bad = Enumerable.Range(0, expected.Length).FirstOrDefault(i => BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]), -1);
        Assert.True(bad < 0, bad < 0 ? "" : $"pixel {bad}: {actual[bad]:R}, the scatter in patch order gives {expected[bad]:R}");
    }

    /// <summary>The two ops that add a product into images by col2im: the transposed convolution before its bias
    /// (col2im(x·wᵀ), w [PatchLength, width]) and a convolution's input gradient (col2im(dy·w), w [width, PatchLength],
    /// masked by a ReLU output). Against the scatter of the products computed here in double (the plain reference), and
    /// bit for bit the same backend's GEMM (DenseForward with a zero bias, DenseBackwardInput) followed by its Col2Im,
    /// which the fused SIMD ops must equal. Enough images (9) for the SIMD ops' groups of images to differ from one image
    /// at a time and from all of them. Mutants (in the shared SIMD helper): col2im reading every image's products from
    /// the group's first image → every SIMD case fails; the GEMM reading group g's rows from g·OutPixels instead of
    /// g·perGroup·OutPixels → the cases with several groups (the 14×14×32 geometry) fail; the mask applied to image 0
    /// only → the masked cases fail.</summary>
    [Theory, MemberData(nameof(ProductGeometries))]
    public void Col2ImOfAProductIsTheGemmThenCol2Im(string backend, string op, ConvGeometry g, int count, int width)
    {
        var be = TestBackends.Get(backend);
        bool transpose = op == "transpose", masked = op == "backward + mask";
        var x = Values.Random(count * g.OutPixels * width, 67); var w = Values.Random(g.PatchLength * width, 68, 0.5f);
        var mask = Values.Random(count * g.InPixels * g.Channels, 69);
        var cols = be.Allocate(count * g.OutPixels * g.PatchLength);
        var fused = be.Allocate(count * g.InPixels * g.Channels + 1);
        be.Fill(fused, 9f); // overwritten, and the guard past the images kept
        var images = fused.Slice(0, count * g.InPixels * g.Channels);
        if (transpose) be.ConvTranspose(be.Up(x), be.Up(w), cols, images, count, width, g);
        else be.ConvBackwardInput(be.Up(x), be.Up(w), cols, images, count, width, g, masked ? be.Up(mask) : null);
        var products = new float[count * g.OutPixels * g.PatchLength];
        for (int r = 0; r < count * g.OutPixels; r++)
            for (int p = 0; p < g.PatchLength; p++)
            {
                double sum = 0;
                for (int c = 0; c < width; c++) sum += (double)x[r * width + c] * (transpose ? w[p * width + c] : w[c * g.PatchLength + p]);
                products[r * g.PatchLength + p] = (float)sum;
            }
        var got = be.Down(fused);
        Assert.Equal(9f, got[^1]);
        Values.AssertClose([.. ScatterPatches(products, g, count).Select((v, i) => !masked || mask[i] > 0 ? v : 0)], got[..^1], 1e-5, op);

        var separate = be.Allocate(count * g.InPixels * g.Channels);
        if (transpose) be.DenseForward(be.Up(x), be.Up(w), be.Up(new float[g.PatchLength]), cols, count * g.OutPixels, width, g.PatchLength, Activation.None);
        else be.DenseBackwardInput(be.Up(x), be.Up(w), cols, count * g.OutPixels, g.PatchLength, width, null);
        be.Col2Im(cols, separate, count, g, masked ? be.Up(mask) : null);
        Assert.Equal(be.Down(separate).Select(BitConverter.SingleToInt32Bits), got[..^1].Select(BitConverter.SingleToInt32Bits));
    }

    // The conv models' geometries: the decoder's (7×7 → 14×14×32, 14×14 → 28×28×1), the encoder's input gradients (of its
    // second layer onto 14×14×32; the VAE-GAN's discriminator's first onto 28×28×1), and one with an odd patch. The
    // 14×14×32 one with 16 channels, not the models' 64: the GEMM's depth changes nothing here, and the GPU-shaped
    // accelerator took 7 s for its three cases at 64.
    public static IEnumerable<object[]> ProductGeometries => TestBackends.Cross(
        [.. from op in new[] { "transpose", "backward", "backward + mask" }
            from shape in new object[][] { [new ConvGeometry(14, 14, 32, 3, 2, 1), 9, 16], [new ConvGeometry(28, 28, 1, 3, 2, 1), 9, 32], [new ConvGeometry(7, 9, 2, 3, 1, 0), 9, 5] }
            select (object[])[op, .. shape]]);

    [Theory, MemberData(nameof(Geometries))]
    public void Col2ImIsTheAdjointOfIm2Col(string backend, ConvGeometry g, int count)
    {
        // ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for all x, c: what makes col2im the input gradient of a convolution.
        var be = TestBackends.Get(backend);
        var x = Values.Random(count * g.InPixels * g.Channels, 65); var c = Values.Random(count * g.OutPixels * g.PatchLength, 66);
        var cols = be.Allocate(c.Length); var back = be.Allocate(x.Length);
        be.Im2Col(be.Up(x), cols, count, g);
        be.Col2Im(be.Up(c), back, count, g, null);
        double left = be.Down(cols).Zip(c, (p, q) => (double)p * q).Sum(), right = be.Down(back).Zip(x, (p, q) => (double)p * q).Sum();
        Assert.True(Math.Abs(left - right) <= 1e-4 * (1 + Math.Abs(left)), $"⟨im2col x, c⟩ = {left}, ⟨x, col2im c⟩ = {right}");
    }

    // A short matrix, a tall one (the GPU set's column sums split it over many groups; 3000 rows of 1 column: 3 groups
    // of 1,024, the last partial) and one wider than a group (its columns in two blocks; 22 rows: six groups of 4, the
    // last partial; 70 rows took the GPU-shaped accelerator 4–7 s).
    public static IEnumerable<object[]> BiasShapes => TestBackends.Cross([37, 11], [3000, 5], [3000, 1], [22, 300]);

    [Theory, MemberData(nameof(BiasShapes))]
    public void AddBiasAppliesTheActivationInPlaceAndColumnSumsAddRowsUp(string backend, int rows, int cols)
    {
        var be = TestBackends.Get(backend);
        var y = Values.Random(rows * cols, 67); var b = Values.Random(cols, 68);
        foreach (var act in new[] { Activation.None, Activation.Relu })
        {
            var t = be.Up(y);
            be.AddBias(t, be.Up(b), rows, cols, act);
            var expected = y.Select((v, i) => act == Activation.Relu ? Math.Max(v + b[i % cols], 0f) : v + b[i % cols]).ToArray();
            Values.AssertClose(expected, be.Down(t), 1e-6, $"bias + {act}");
        }
        var sums = be.Allocate(cols);
        be.ColumnSums(be.Up(y), rows, cols, sums);
        var expectedSums = Enumerable.Range(0, cols).Select(c => Enumerable.Range(0, rows).Sum(r => (double)y[r * cols + c])).ToArray();
        Values.AssertClose(expectedSums, be.Down(sums), 1e-5, "column sums");
    }
}
