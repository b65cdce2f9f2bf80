using System.Numerics;
using System.Runtime.Intrinsics;
using GpuAe.Kernels;
using Xunit;

namespace GpuAe.Tests.Kernels;

/// <summary>Sigmoid fused with binary cross-entropy, and the fixed-order sum, against a reference and finite differences.</summary>
public class LossTests
{
    /// <summary>Per row: Σ −[x·log σ(l) + (1−x)·log(1−σ(l))], Σ (σ(l) − x)², and dl = (σ(l) − x)·scale, in double.</summary>
    static (double[] Bce, double[] SquaredError, double[] DLogits) Reference(float[] logits, float[] targets, int rows, int cols, double scale)
    {
        var bce = new double[rows]; var se = new double[rows]; var d = new double[rows * cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                int i = r * cols + c;
                double s = 1 / (1 + Math.Exp(-logits[i])), x = targets[i];
                bce[r] += -(x * Math.Log(s) + (1 - x) * Math.Log(1 - s));
                se[r] += (s - x) * (s - x);
                d[i] = (s - x) * scale;
            }
        return (bce, se, d);
    }

    public static IEnumerable<object[]> BceShapes => TestBackends.Cross([3, 11], [7, 784], [33, 787]);

    /// <summary>Against the reference; and BceRows, the loss-only op the evaluation scores with, gives SigmoidBce's rowBce
    /// bit for bit (so the IWAE bound and the sampled ELBO are unchanged by it) and writes nothing past rowBce's rows.
    /// BceRows mutants: the SIMD row sum in another order (the scalar tail first) → the 11- and 787-column cases fail on
    /// the bitwise comparison on every SIMD path (a separate test with 5 rows let it through, hence 33); the ILGPU launcher passing lossOnly = 0 (the gradient
    /// written into rowBce) → the run aborts.</summary>
    [Theory, MemberData(nameof(BceShapes))]
    public void SigmoidBceMatchesReference(string backend, int rows, int cols)
    {
        var be = TestBackends.Get(backend);
        var logits = Values.Random(rows * cols, 21, 6f); var targets = Values.Uniform01(rows * cols, 22);
        var d = be.Allocate(rows * cols); var bce = be.Allocate(rows); var se = be.Allocate(rows);
        be.SigmoidBce(be.Up(logits), be.Up(targets), d, bce, se, rows, cols, 0.25f);
        var expected = Reference(logits, targets, rows, cols, 0.25);
        // Sums of up to 787 float32 terms: 1e-5 relative.
        Values.AssertClose(expected.Bce, be.Down(bce), 1e-5, "row BCE");
        Values.AssertClose(expected.SquaredError, be.Down(se), 1e-5, "row squared error");
        Values.AssertClose(expected.DLogits, be.Down(d), 1e-6, "dLogits");

        var lossOnly = be.Up(Enumerable.Repeat(-7f, rows + 1).ToArray());
        be.BceRows(be.Up(logits), be.Up(targets), lossOnly.Slice(0, rows), rows, cols);
        var got = be.Down(lossOnly);
        Assert.Equal(be.Down(bce).Select(BitConverter.SingleToInt32Bits), got[..rows].Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(-7f, got[rows]);
    }

    /// <summary>The SIMD BCE's logarithm of 1 + e, both copies (Vector&lt;float&gt; and Vector512), is Vector.Log bit for bit
    /// on every float of [1, 2] and on NaN, so the committed runs' losses are unchanged by it. Mutants: r⁸ floored without
    /// the r = 0 exception (log 1 ≠ 0), a floor too high to vanish beside r (r⁴ ≥ 2⁻¹⁶; any floor below 2⁻²² is exact,
    /// hence 2⁻⁶⁰ with room), the 0.16700386 coefficient as 0.1670039, NaN not passed through, in either copy: each fails.</summary>
    [Fact]
    public void SimdLogOfOneToTwoIsVectorLogBitForBit()
    {
        int w = Vector<float>.Count, wide = Vector512<float>.Count;
        var lanes = new uint[wide];
        long mismatches = 0; uint first = 0;
        for (uint bits = 0x3F80_0000; bits <= 0x4000_0000; bits += (uint)wide)
        {
            for (int i = 0; i < wide; i++) lanes[i] = Math.Min(bits + (uint)i, 0x4000_0000);
            var ofWide = GpuAe.Simd.SimdBackend.LogOneToTwo(Vector512.Create(lanes).AsSingle()).AsUInt32();
            for (int at = 0; at < wide; at += w)
            {
                var x = new Vector<uint>(lanes, at).As<uint, float>();
                var expected = Vector.Log(x).As<float, uint>();
                bool same = GpuAe.Simd.SimdBackend.LogOneToTwo(x).As<float, uint>() == expected;
                for (int i = 0; i < w; i++) same &= ofWide.GetElement(at + i) == expected[i];
                if (!same && mismatches++ == 0) first = lanes[at];
            }
        }
        Assert.True(mismatches == 0, $"{mismatches} vectors differ, the first from {BitConverter.UInt32BitsToSingle(first):R}");
        Assert.True(float.IsNaN(GpuAe.Simd.SimdBackend.LogOneToTwo(new Vector<float>(float.NaN))[0]));
        Assert.True(float.IsNaN(GpuAe.Simd.SimdBackend.LogOneToTwo(Vector512.Create(float.NaN)).GetElement(3)));
    }

    /// <summary>Vector512.Exp, which the AVX-512 BCE takes e = exp(−|l|) with, is Vector.Exp (the 8-wide BCE's) bit for bit
    /// on every 61st non-positive float, from −0 through the subnormal results to −∞ (each −|l| the BCE can meet).</summary>
    [Fact]
    public void SimdWideExpIsVectorExpBitForBit()
    {
        int w = Vector<float>.Count, wide = Vector512<float>.Count;
        var lanes = new uint[wide];
        long mismatches = 0; uint first = 0;
        for (ulong bits = 0x8000_0000; bits <= 0xFF80_0000; bits += 61UL * (ulong)wide)
        {
            for (int i = 0; i < wide; i++) lanes[i] = (uint)Math.Min(bits + 61UL * (ulong)i, 0xFF80_0000);
            var actual = Vector512.Exp(Vector512.Create(lanes).AsSingle()).AsUInt32();
            for (int at = 0; at < wide; at += w)
            {
                var expected = Vector.Exp(new Vector<uint>(lanes, at).As<uint, float>()).As<float, uint>();
                for (int i = 0; i < w; i++)
                    if (expected[i] != actual.GetElement(at + i) && mismatches++ == 0) first = lanes[at + i];
            }
        }
        Assert.True(mismatches == 0, $"{mismatches} values differ, the first {BitConverter.UInt32BitsToSingle(first):R}");
    }

    /// <summary>The SIMD BCE is the same on every vector path, bit for bit: the AVX-512 path's 16 pixels at a time (its own
    /// exp and logarithm, each 16 added to the row's 8-lane sums as two halves) give the loss, squared error and gradient
    /// the 8-wide loop gives, so training and the IWAE bound do not depend on the path. Logits over the whole float range
    /// (BCE's e = exp(−|l|) from 1 down to subnormal and 0), ±0, and rows of 16-blocks, an 8-wide remainder and a scalar
    /// tail. Mutants: the halves added upper first (the 784- and 799-column cases fail: the first block's two halves commute);
    /// the wide sigmoid's two branches swapped: each fails.</summary>
    [Theory]
    [InlineData(5, 784)]
    [InlineData(4, 799)]
    [InlineData(3, 24)]
    public void SimdBceIsTheSameOnEveryVectorPath(int rows, int cols)
    {
        var rng = new Random(31);
        var logits = new float[rows * cols];
        for (int i = 0; i < logits.Length; i++)
            logits[i] = (i % 5) switch
            {
                0 => (float)(rng.NextDouble() * 40 - 20),
                1 => (float)((rng.NextDouble() - 0.5) * Math.Pow(2, rng.Next(-30, 8))),
                2 => (float)(rng.NextDouble() * 250 - 125),
                3 => i % 2 == 0 ? 0f : -0f,
                _ => (float)(rng.NextDouble() * 2 - 1),
            };
        var targets = Values.Uniform01(rows * cols, 32);
        (int[] Bce, int[] Se, int[] D, int[] LossOnly) Run(string name)
        {
            var be = TestBackends.Get(name);
            var d = be.Allocate(rows * cols); var bce = be.Allocate(rows); var se = be.Allocate(rows); var lossOnly = be.Allocate(rows);
            be.SigmoidBce(be.Up(logits), be.Up(targets), d, bce, se, rows, cols, 0.375f);
            be.BceRows(be.Up(logits), be.Up(targets), lossOnly, rows, cols);
            static int[] Bits(float[] v) => [.. v.Select(BitConverter.SingleToInt32Bits)];
            return (Bits(be.Down(bce)), Bits(be.Down(se)), Bits(be.Down(d)), Bits(be.Down(lossOnly)));
        }
        var wide = Run("simd512");
        foreach (var other in new[] { "simd256", "scalar" })
        {
            var got = Run(other);
            Assert.Equal(got.Bce, wide.Bce);
            Assert.Equal(got.Se, wide.Se);
            Assert.Equal(got.D, wide.D);
            Assert.Equal(got.LossOnly, wide.LossOnly);
        }
    }

    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void SigmoidBceIsFiniteForExtremeLogits(string backend)
    {
        var be = TestBackends.Get(backend);
        float[] logits = [-200f, -50f, 0f, 50f, 200f, 88.8f];
        float[] targets = [1f, 0.5f, 0f, 0f, 1f, 0.3f];
        var d = be.Allocate(6); var bce = be.Allocate(1); var se = be.Allocate(1);
        be.SigmoidBce(be.Up(logits), be.Up(targets), d, bce, se, 1, 6, 1f);
        // By hand: BCE(l, x) = max(l,0) − l·x + log(1+e^−|l|): 200 + 25 + ln2 + 50 + 0 + 62.16 (e^−50.. terms vanish).
        double expected = 200 + 25 + Math.Log(2) + 50 + 0 + (88.8 - 88.8 * 0.3);
        Assert.Equal(expected, be.Down(bce)[0], 3);
        Assert.All(be.Down(d), v => Assert.True(float.IsFinite(v)));
    }

    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void SigmoidBceGradientMatchesFiniteDifferences(string backend)
    {
        var be = TestBackends.Get(backend);
        const int rows = 2, cols = 9;
        var tt = be.Up(Values.Uniform01(rows * cols, 24));
        var d = be.Allocate(rows * cols); var bce = be.Allocate(rows); var se = be.Allocate(rows);
        AssertGradientMatchesFiniteDifferences(be, Values.Random(rows * cols, 23, 3f), logits => be.SigmoidBce(logits, tt, d, bce, se, rows, cols, 1f), bce, d, "dLogits");
    }

    /// <summary>The gradient a row loss writes, against central differences (step 10⁻²) of the sum of its rows as
    /// <paramref name="loss"/> computes them from the inputs. Tolerance 10⁻³: O(eps²·|f'''|) ≈ 1e-5 truncation (none for
    /// a quadratic) plus float32 rounding of the sum / eps ≈ 1e-4.</summary>
    static void AssertGradientMatchesFiniteDifferences(IBackend be, float[] inputs, Action<Tensor> loss, Tensor rowLoss, Tensor gradient, string what)
    {
        var device = be.Up(inputs);
        double Sum() { loss(device); return be.Down(rowLoss).Sum(v => (double)v); }
        Sum();
        var analytic = be.Down(gradient);
        Values.AssertClose(FiniteDifferences.Central(be, inputs, device, Sum, eps: 1e-2f), analytic, 1e-3, $"{what} vs finite differences");
    }

    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void AccumulateSumAddsToTheSlotTheSameWayEveryRun(string backend)
    {
        var be = TestBackends.Get(backend);
        var values = Values.Random(300, 25);
        double sum = 0;
        for (int i = 0; i < 250; i++) sum += values[i];
        var runs = Enumerable.Range(0, 2).Select(_ =>
        {
            var acc = be.Up([1f, 2f, 3f]);
            be.AccumulateSum(be.Up(values), 250, acc, 1);
            return be.Down(acc);
        }).ToArray();
        Values.AssertClose([1.0, 2 + sum, 3.0], runs[0], 1e-6, "accumulator");
        Assert.Equal(runs[0], runs[1]); // a fixed summation order (no atomics): bit-identical reruns
    }

    /// <summary>Softmax cross-entropy per row in double: log Σ exp(l) − Σ t·l, its gradient (softmax − t)·scale, and
    /// whether the largest logit is the label's.</summary>
    static (double[] Loss, double[] DLogits, double[] Correct) SoftmaxReference(float[] logits, float[] targets, int rows, int cols, double scale)
    {
        var loss = new double[rows]; var d = new double[rows * cols]; var correct = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            var l = logits.Skip(r * cols).Take(cols).Select(v => (double)v).ToArray();
            var t = targets.Skip(r * cols).Take(cols).Select(v => (double)v).ToArray();
            double logSum = Math.Log(l.Sum(Math.Exp));
            loss[r] = logSum - l.Zip(t, (a, b) => a * b).Sum();
            for (int c = 0; c < cols; c++) d[r * cols + c] = (Math.Exp(l[c] - logSum) - t[c]) * scale;
            correct[r] = Array.IndexOf(l, l.Max()) == Array.IndexOf(t, t.Max()) ? 1 : 0;
        }
        return (loss, d, correct);
    }

    static float[] OneHot(int rows, int cols, int seed) =>
        [.. Enumerable.Range(0, rows * cols).Select(i => i % cols == (i / cols * 7 + seed) % cols ? 1f : 0f)];

    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void SoftmaxCrossEntropyMatchesReference(string backend)
    {
        var be = TestBackends.Get(backend);
        const int rows = 37, cols = 10;
        var logits = Values.Random(rows * cols, 31, 8f); var targets = OneHot(rows, cols, 3);
        logits[5 * cols + 2] = 90f; // exp(90) overflows float: the max-shifted form must not
        var d = be.Allocate(rows * cols); var loss = be.Allocate(rows); var correct = be.Allocate(rows);
        be.SoftmaxCrossEntropy(be.Up(logits), be.Up(targets), d, loss, correct, rows, cols, 0.5f);
        var expected = SoftmaxReference(logits, targets, rows, cols, 0.5);
        // Ten float32 terms per row against double: 1e-5 relative.
        Values.AssertClose(expected.Loss, be.Down(loss), 1e-5, "row cross-entropy");
        Values.AssertClose(expected.DLogits, be.Down(d), 1e-6, "dLogits");
        Assert.Equal(expected.Correct.Select(v => (float)v), be.Down(correct));
        Assert.Contains(1f, be.Down(correct)); Assert.Contains(0f, be.Down(correct)); // both cases occur
    }

    /// <summary>Ties: the prediction is the first of equal largest logits and the label the first of equal largest
    /// targets, so a tie counts as correct only when its first column is the label's.</summary>
    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void SoftmaxCrossEntropyTakesTheFirstOfEqualLogitsAndOfEqualTargets(string backend)
    {
        var be = TestBackends.Get(backend);
        const int rows = 3, cols = 10;
        var logits = Values.Random(rows * cols, 35, 1f); var targets = new float[rows * cols];
        logits[2] = logits[7] = 5f; targets[2] = 1f;                                  // tie at 2 and 7, label 2: correct
        logits[cols + 2] = logits[cols + 7] = 5f; targets[cols + 7] = 1f;              // tie at 2 and 7, label 7: wrong
        logits[2 * cols + 4] = 5f; targets[2 * cols + 4] = targets[2 * cols + 9] = 0.5f; // label: the first of 4 and 9
        var d = be.Allocate(rows * cols); var loss = be.Allocate(rows); var correct = be.Allocate(rows);
        be.SoftmaxCrossEntropy(be.Up(logits), be.Up(targets), d, loss, correct, rows, cols, 1f);
        Assert.Equal([1f, 0f, 1f], be.Down(correct));
        var expected = SoftmaxReference(logits, targets, rows, cols, 1.0);
        Assert.Equal(expected.Correct.Select(v => (float)v), be.Down(correct));
        Values.AssertClose(expected.Loss, be.Down(loss), 1e-5, "row cross-entropy");
        Values.AssertClose(expected.DLogits, be.Down(d), 1e-6, "dLogits");
    }

    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void SoftmaxCrossEntropyGradientMatchesFiniteDifferences(string backend)
    {
        var be = TestBackends.Get(backend);
        const int rows = 3, cols = 10;
        var tt = be.Up(OneHot(rows, cols, 5));
        var d = be.Allocate(rows * cols); var loss = be.Allocate(rows); var correct = be.Allocate(rows);
        AssertGradientMatchesFiniteDifferences(be, Values.Random(rows * cols, 33, 3f),
            logits => be.SoftmaxCrossEntropy(logits, tt, d, loss, correct, rows, cols, 1f), loss, d, "dLogits");
    }

    /// <summary>Per row of [rows, cols]: ½·Σ (p − t)² and (p − t)·scale, in double.</summary>
    static (double[] Loss, double[] DPredictions) HalfSquaredErrorReference(float[] p, float[] t, int rows, int cols, double scale)
    {
        var loss = new double[rows]; var d = new double[rows * cols];
        for (int i = 0; i < rows * cols; i++)
        {
            double diff = (double)p[i] - t[i];
            loss[i / cols] += 0.5 * diff * diff;
            d[i] = diff * scale;
        }
        return (loss, d);
    }

    /// <summary>5 rows of 3,136 columns (the VAE-GAN's discriminator features) and 3 of 7.</summary>
    public static IEnumerable<object[]> SquaredErrorShapes => TestBackends.Cross([5, 3136], [3, 7]);

    [Theory, MemberData(nameof(SquaredErrorShapes))]
    public void HalfSquaredErrorMatchesReference(string backend, int rows, int cols)
    {
        var be = TestBackends.Get(backend);
        var p = Values.Random(rows * cols, 81, 3f); var t = Values.Random(rows * cols, 82, 3f);
        var d = be.Allocate(rows * cols); var loss = be.Allocate(rows);
        be.HalfSquaredError(be.Up(p), be.Up(t), d, loss, rows, cols, 0.25f);
        var expected = HalfSquaredErrorReference(p, t, rows, cols, 0.25);
        // Float32 sums of up to 3,136 positive terms in column order: 1e-5 relative.
        Values.AssertClose(expected.Loss, be.Down(loss), 1e-5, "row loss");
        Values.AssertClose(expected.DPredictions, be.Down(d), 1e-6, "dPredictions");
    }

    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void HalfSquaredErrorGradientMatchesFiniteDifferences(string backend)
    {
        var be = TestBackends.Get(backend);
        const int rows = 2, cols = 9;
        var t = be.Up(Values.Random(rows * cols, 84, 2f));
        var d = be.Allocate(rows * cols); var loss = be.Allocate(rows);
        AssertGradientMatchesFiniteDifferences(be, Values.Random(rows * cols, 83, 2f), p => be.HalfSquaredError(p, t, d, loss, rows, cols, 1f), loss, d, "dPredictions");
    }

    /// <summary>Right when the logit's side of 0 is the target's side of ½: both sides of each, and 0 itself (sigmoid ½,
    /// decided as "real").</summary>
    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void BinaryCorrectScoresEachDecision(string backend)
    {
        var be = TestBackends.Get(backend);
        float[] logits = [3f, 3f, -0.1f, -0.1f, 0f, 0f, 40f, -40f];
        float[] targets = [1f, 0f, 1f, 0f, 1f, 0f, 0.5f, 0.4f];
        var correct = be.Allocate(logits.Length);
        be.BinaryCorrect(be.Up(logits), be.Up(targets), correct);
        Assert.Equal([1f, 0f, 0f, 1f, 1f, 0f, 1f, 1f], be.Down(correct));
    }
}
