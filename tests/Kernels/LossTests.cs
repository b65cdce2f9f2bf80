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

    public static IEnumerable<object[]> BceShapes => TestBackends.Cross([3, 11], [7, 784]);

    [Theory, MemberData(nameof(BceShapes))]
    public void SigmoidBceMatchesReference(string backend, int rows, int cols)
    {
        var be = TestBackends.Get(backend);
        var logits = Values.Random(rows * cols, 21, 6f); var targets = Values.Uniform01(rows * cols, 22);
        var d = be.Allocate(rows * cols); var bce = be.Allocate(rows); var se = be.Allocate(rows);
        be.SigmoidBce(be.Up(logits), be.Up(targets), d, bce, se, rows, cols, 0.25f);
        var expected = Reference(logits, targets, rows, cols, 0.25);
        // Sums of up to 784 float32 terms: 1e-5 relative.
        Values.AssertClose(expected.Bce, be.Down(bce), 1e-5, "row BCE");
        Values.AssertClose(expected.SquaredError, be.Down(se), 1e-5, "row squared error");
        Values.AssertClose(expected.DLogits, be.Down(d), 1e-6, "dLogits");
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
        var logits = Values.Random(rows * cols, 23, 3f); var targets = Values.Uniform01(rows * cols, 24);
        var tl = be.Up(logits); var tt = be.Up(targets);
        var d = be.Allocate(rows * cols); var bce = be.Allocate(rows); var se = be.Allocate(rows);
        double Loss() { be.SigmoidBce(tl, tt, d, bce, se, rows, cols, 1f); return be.Down(bce).Sum(v => (double)v); }
        Loss();
        var analytic = be.Down(d);
        var numeric = FiniteDifferences.Central(be, logits, tl, Loss, eps: 1e-2f);
        // Central differences have O(eps²·|f'''|) ≈ 1e-5 truncation error here, plus float32 rounding of L / eps ≈ 1e-4.
        Values.AssertClose(numeric, analytic, 1e-3, "dLogits vs finite differences");
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
}
