using GpuAe.Kernels;
using Xunit;

namespace GpuAe.Tests.Kernels;

/// <summary>The dense layer kernels (tiled GEMM with fused bias/ReLU epilogues, ReLU backward, bias gradient) against a
/// plain C# reference and against central finite differences.</summary>
public class GemmTests
{
    // ---- plain C# reference (double accumulation), shapes as in IBackend ----------------------------------------

    /// <summary>y[rows,out] = act(x[rows,in]·w[out,in]ᵀ + b[out])</summary>
    static double[] DenseForwardReference(float[] x, float[] w, float[] b, int rows, int inF, int outF, bool relu)
    {
        var y = new double[rows * outF];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < outF; o++)
            {
                double sum = b[o];
                for (int i = 0; i < inF; i++) sum += (double)x[r * inF + i] * w[o * inF + i];
                y[r * outF + o] = relu ? Math.Max(sum, 0) : sum;
            }
        return y;
    }

    /// <summary>dx[rows,in] = dy[rows,out]·w[out,in], masked by mask &gt; 0 when given.</summary>
    static double[] DenseBackwardInputReference(float[] dy, float[] w, float[]? mask, int rows, int inF, int outF)
    {
        var dx = new double[rows * inF];
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < inF; i++)
            {
                double sum = 0;
                for (int o = 0; o < outF; o++) sum += (double)dy[r * outF + o] * w[o * inF + i];
                dx[r * inF + i] = mask is null || mask[r * inF + i] > 0 ? sum : 0;
            }
        return dx;
    }

    /// <summary>dw[out,in] = dy[rows,out]ᵀ·x[rows,in]; db[out] = Σ_rows dy.</summary>
    static (double[] Dw, double[] Db) DenseBackwardParametersReference(float[] dy, float[] x, int rows, int inF, int outF)
    {
        var dw = new double[outF * inF];
        var db = new double[outF];
        for (int o = 0; o < outF; o++)
        {
            for (int r = 0; r < rows; r++) db[o] += dy[r * outF + o];
            for (int i = 0; i < inF; i++)
                for (int r = 0; r < rows; r++) dw[o * inF + i] += (double)dy[r * outF + o] * x[r * inF + i];
        }
        return (dw, db);
    }

    // On every backend: shapes that are not multiples of the 8×8 ILGPU tile or of the 4-row × 2-vector SIMD tile,
    // exactly one tile, a single row, the AE's widest layer on a small batch, and all-multiples of 8 (every operand of
    // the CPU kernel set's packing then goes through its whole-vector paths), and two tiles of 64 along M and N in every
    // GEMM of a layer (70 rows, 40 → 65).
    // [300, 9, 32]: a conv-like weight gradient (K = 300 rows, C 32 × 9: one tile), split ten ways on cpu-shared.
    public static IEnumerable<object[]> Shapes => TestBackends.Cross([13, 19, 11], [8, 8, 8], [1, 5, 3], [37, 50, 9], [5, 784, 256], [6, 40, 33], [16, 24, 40], [70, 40, 65], [300, 9, 32]);

    // float32 sums of up to 784 terms of size ~1 against a double reference: 1e-5 relative is ~100 ulps of headroom.
    const double Tolerance = 1e-5;

    [Theory, MemberData(nameof(Shapes))]
    public void DenseForwardMatchesReference(string backend, int rows, int inF, int outF)
    {
        var be = TestBackends.Get(backend);
        var x = Values.Random(rows * inF, 1); var w = Values.Random(outF * inF, 2); var b = Values.Random(outF, 3);
        foreach (var activation in new[] { Activation.None, Activation.Relu })
        {
            var y = be.Allocate(rows * outF);
            be.DenseForward(be.Up(x), be.Up(w), be.Up(b), y, rows, inF, outF, activation);
            Values.AssertClose(DenseForwardReference(x, w, b, rows, inF, outF, activation == Activation.Relu), be.Down(y), Tolerance, $"forward {activation}");
        }
    }

    /// <summary>Operands that start part-way into their allocation (as a parameter slice can): the CPU kernel set packs
    /// whole vectors only from multiples of 8 floats, so an offset of 3 must take its element-by-element path.</summary>
    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void OperandsAtUnalignedOffsetsMatchReference(string backend)
    {
        var be = TestBackends.Get(backend);
        const int rows = 16, inF = 24, outF = 40, offset = 3;
        var x = Values.Random(rows * inF, 21); var w = Values.Random(outF * inF, 22); var b = Values.Random(outF, 23);
        Tensor AtOffset(float[] values)
        {
            var t = be.Allocate(values.Length + offset).Slice(offset, values.Length);
            be.Upload(t, values);
            return t;
        }
        var y = be.Allocate(rows * outF);
        be.DenseForward(AtOffset(x), AtOffset(w), AtOffset(b), y, rows, inF, outF, Activation.None);
        Values.AssertClose(DenseForwardReference(x, w, b, rows, inF, outF, false), be.Down(y), Tolerance, "forward at offset 3");
        var dx = be.Allocate(rows * inF);
        be.DenseBackwardInput(AtOffset(be.Down(y)), AtOffset(w), dx, rows, inF, outF, null);
        Values.AssertClose(DenseBackwardInputReference(be.Down(y), w, null, rows, inF, outF), be.Down(dx), Tolerance, "dX at offset 3");
    }

    [Theory, MemberData(nameof(Shapes))]
    public void DenseBackwardInputMatchesReference(string backend, int rows, int inF, int outF)
    {
        var be = TestBackends.Get(backend);
        var dy = Values.Random(rows * outF, 4); var w = Values.Random(outF * inF, 5); var mask = Values.Random(rows * inF, 6);
        foreach (var useMask in new[] { false, true })
        {
            var dx = be.Allocate(rows * inF);
            be.DenseBackwardInput(be.Up(dy), be.Up(w), dx, rows, inF, outF, useMask ? be.Up(mask) : null);
            Values.AssertClose(DenseBackwardInputReference(dy, w, useMask ? mask : null, rows, inF, outF), be.Down(dx), Tolerance, $"dX mask={useMask}");
        }
    }

    [Theory, MemberData(nameof(Shapes))]
    public void DenseBackwardParametersMatchesReference(string backend, int rows, int inF, int outF)
    {
        var be = TestBackends.Get(backend);
        var dy = Values.Random(rows * outF, 7); var x = Values.Random(rows * inF, 8);
        var dw = be.Allocate(outF * inF); var db = be.Allocate(outF);
        be.Fill(dw, 123f); // the kernel overwrites: stale values must not leak in
        be.DenseBackwardParameters(be.Up(dy), be.Up(x), dw, db, rows, inF, outF);
        var (expectedDw, expectedDb) = DenseBackwardParametersReference(dy, x, rows, inF, outF);
        Values.AssertClose(expectedDw, be.Down(dw), Tolerance, "dW");
        Values.AssertClose(expectedDb, be.Down(db), Tolerance, "db");
    }

    /// <summary>L = Σ R ⊙ (relu(x·W1ᵀ + b1)·W2ᵀ + b2) for a fixed random R. The kernels' dW1, db1, dx (through the fused
    /// ReLU mask) and dW2 must match central differences of L computed with the forward kernels.</summary>
    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void DenseBackwardMatchesFiniteDifferencesThroughRelu(string backend)
    {
        var be = TestBackends.Get(backend);
        const int rows = 6, inF = 10, hidden = 9, outF = 7;
        var x = Values.Random(rows * inF, 11); var w1 = Values.Random(hidden * inF, 12, 0.5f); var b1 = Values.Random(hidden, 13, 0.5f);
        var w2 = Values.Random(outF * hidden, 14, 0.5f); var b2 = Values.Random(outF, 15); var r = Values.Random(rows * outF, 16);
        var tx = be.Up(x); var tw1 = be.Up(w1); var tb1 = be.Up(b1); var tw2 = be.Up(w2); var tb2 = be.Up(b2);
        var h = be.Allocate(rows * hidden); var y = be.Allocate(rows * outF);

        double Loss()
        {
            be.DenseForward(tx, tw1, tb1, h, rows, inF, hidden, Activation.Relu);
            be.DenseForward(h, tw2, tb2, y, rows, hidden, outF, Activation.None);
            var yv = be.Down(y);
            double sum = 0;
            for (int i = 0; i < yv.Length; i++) sum += (double)r[i] * yv[i];
            return sum;
        }

        Loss(); // fills h for the backward pass
        var dy = be.Up(r);
        var dh = be.Allocate(rows * hidden); var dx = be.Allocate(rows * inF);
        var dw1 = be.Allocate(hidden * inF); var db1 = be.Allocate(hidden); var dw2 = be.Allocate(outF * hidden); var db2 = be.Allocate(outF);
        be.DenseBackwardParameters(dy, h, dw2, db2, rows, hidden, outF);
        be.DenseBackwardInput(dy, tw2, dh, rows, hidden, outF, h);
        be.DenseBackwardParameters(dh, tx, dw1, db1, rows, inF, hidden);
        be.DenseBackwardInput(dh, tw1, dx, rows, inF, hidden, null);

        // L is piecewise linear, so central differences are exact unless a step crosses a ReLU kink; eps 1e-3 makes that
        // unlikely (and the seeds are fixed), while float32 rounding of L (~1e-6) divided by 2·eps stays below 1e-3.
        Check(x, tx, be.Down(dx), "dx");
        Check(w1, tw1, be.Down(dw1), "dW1");
        Check(b1, tb1, be.Down(db1), "db1");
        Check(w2, tw2, be.Down(dw2), "dW2");
        Check(b2, tb2, be.Down(db2), "db2");

        void Check(float[] host, Tensor device, float[] analytic, string what)
        {
            // On the GPU-shaped accelerator (each loss two launches of emulated groups) every third element, and the last.
            int every = be is IlgpuBackend { KernelSet: KernelSet.Gpu } ? 3 : 1;
            var numeric = FiniteDifferences.Central(be, host, device, Loss, 1e-3f, every);
            var differenced = Enumerable.Range(0, host.Length).Where(i => !double.IsNaN(numeric[i])).ToArray();
            Values.AssertClose([.. differenced.Select(i => numeric[i])], [.. differenced.Select(i => analytic[i])], 2e-3, what);
        }
    }

    /// <summary>How the GPU GEMM splits K on a 132-multiprocessor chip: the dense AE's products as before (fill the
    /// chip), a conv weight gradient's long K (C 64 × 288 = 18 tiles, K = 6,272 = 196 tiles) into chains of at most 8
    /// tiles while the chip holds four groups per multiprocessor, and a product that fills the chip not at all.</summary>
    [Theory]
    [InlineData(32, 25, 5)]    // AE forward 128×784→256: C 4 × 8 tiles
    [InlineData(200, 4, 1)]    // AE weight gradient 256 × 784, K = 128
    [InlineData(100, 8, 2)]    // AE input gradient 128 × 784, K = 256
    [InlineData(18, 196, 25)]  // conv weight gradient 64 × 288, K = 6,272
    [InlineData(1, 784, 132)]  // conv weight gradient 32 × 9, K = 25,088: one split per multiprocessor, chains of 6
    [InlineData(392, 9, 1)]    // conv forward 6,272 × 64, K = 288: three waves of tiles already
    [InlineData(150, 40, 3)]   // more than a wave of tiles, chains of 40: split to 3 (4 × 132 / 150), not to 5
    public void SplitsFillTheChipAndShortenLongChains(int tiles, int kTiles, int splits) =>
        Assert.Equal(splits, IlgpuBackend.Splits(tiles, kTiles, 132));
}
