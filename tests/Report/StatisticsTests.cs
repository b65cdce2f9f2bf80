using GpuAe.Nets.Report;
using Xunit;

namespace GpuAe.Tests.Report;

/// <summary>The report's statistics against hand computations: Welch's interval of a difference of means, improved
/// precision and recall on a point cloud drawn by hand, active units of constructed means.</summary>
public class StatisticsTests
{
    [Fact]
    public void WelchIntervalIsTheHandComputedOne()
    {
        // Two seeds each, sample variances 0.02 and 0.02: SE² = 0.02/2 + 0.02/2 = 0.02; Welch–Satterthwaite
        // ν = 0.02² / ((0.01)²/1 + (0.01)²/1) = 2; t(0.975, 2) = 4.302652729911275 (tables).
        var d = Difference.Of(Stat.Of([1.0, 1.2]), Stat.Of([2.0, 2.2]));
        Assert.Equal(-1.0, d.Value, 12);
        Assert.Equal(Math.Sqrt(0.02), d.StandardError, 12);
        Assert.Equal(2.0, d.DegreesOfFreedom, 9);
        Assert.Equal(4.302652729911275 * Math.Sqrt(0.02), d.HalfWidth, 9);
        Assert.True(d.Below); // −1 ± 0.608: below 0
        Assert.False(d.Above);
        // Variances 2 and 2 with the means 3 apart: −3 ± 4.3027·√2 = −3 ± 6.085 crosses 0.
        var wide = Difference.Of(Stat.Of([1.0, 3.0]), Stat.Of([4.0, 6.0]));
        Assert.True(wide.Tested);
        Assert.False(wide.Below || wide.Above);
        // Unequal sizes: [1, 2, 4] (variance 7/3) and [5, 6] (variance 1/2): SE² = 7/9 + 1/4, ν = SE⁴ / ((7/9)²/2 + (1/4)²/1).
        var unequal = Difference.Of(Stat.Of([1.0, 2.0, 4.0]), Stat.Of([5.0, 6.0]));
        double se2 = 7.0 / 9 + 1.0 / 4;
        Assert.Equal(Math.Sqrt(se2), unequal.StandardError, 12);
        Assert.Equal(se2 * se2 / (7.0 / 9 * (7.0 / 9) / 2 + 1.0 / 16), unequal.DegreesOfFreedom, 9);
        // A shared variance adds to SE² and not to ν's denominator.
        var shared = Difference.Of(Stat.Of([1.0, 1.2]), Stat.Of([2.0, 2.2]), shared: 0.02);
        Assert.Equal(Math.Sqrt(0.04), shared.StandardError, 12);
        Assert.Equal(0.04 * 0.04 / (0.0001 + 0.0001), shared.DegreesOfFreedom, 6);
        // One seed: no interval, nothing decided.
        var single = Difference.Of(Stat.Of([1.0]), Stat.Of([9.0]));
        Assert.False(single.Tested);
        Assert.False(single.Below || single.Above);
        Assert.Equal("-8.00 (one seed: no interval)", single.Format("F2"));
        // Every seed the same: a spread of 0, the difference itself decides.
        var exact = Difference.Of(Stat.Of([1.0, 1.0]), Stat.Of([2.0, 2.0]));
        Assert.True(exact.Below);
        Assert.Equal("-1.00 (every seed the same)", exact.Format("F2"));
    }

    /// <summary>Real points at 0, 1, 2, 3, 4, 20, 21 on a line (every nearest neighbour 1 away: balls of radius 1 with
    /// k = 1); generated points at 0.5 and 4.9 (inside) and 10 (outside): precision 2/3. The generated points' nearest
    /// neighbours are 4.4, 5.1 and 4.4 away, so their balls cover 0 … 4 but not 20 and 21: recall 5/7.</summary>
    [Fact]
    public void PrecisionAndRecallOfAHandDrawnCloud()
    {
        float[] Line(params float[] xs) => [.. xs.SelectMany(x => new[] { x, 0f })]; // 2-D points on the x axis
        var real = Line(0, 1, 2, 3, 4, 20, 21);
        var generated = Line(0.5f, 10, 4.9f);
        var realRadii = PrecisionRecall.SquaredRadii(Cpu.Backend, real, 7, 2, k: 1);
        Assert.All(realRadii, r => Assert.Equal(1f, r, 4));
        var (precision, recall) = PrecisionRecall.Of(Cpu.Backend, real, 7, realRadii, generated, 3, 2, k: 1);
        Assert.Equal(2.0 / 3, precision, 12);
        Assert.Equal(5.0 / 7, recall, 12);
        // With k = 3 each real ball reaches the third neighbour: 0's is 3 away, 20's is 17 away (0 … 4 are 16–20 away).
        var radii3 = PrecisionRecall.SquaredRadii(Cpu.Backend, real, 7, 2, k: 3);
        Assert.Equal(9f, radii3[0], 3);
        Assert.Equal(17f * 17f, radii3[5], 2);
    }

    /// <summary>The vectorised scans of precision and recall against their one-at-a-time definitions, on rows long enough
    /// for the vectors, with ties, a NaN, an infinity and the tail past the last whole vector. Mutants caught: a vector
    /// passed over when it holds a smaller distance (GreaterThanOrEqualAny for All), a strict comparison for either ≤ (the ties).</summary>
    [Fact]
    public void PrecisionRecallScansAreTheirOneAtATimeDefinitions()
    {
        var random = new Random(5);
        foreach (int length in new[] { 3, 17, 100, 1003 })
            for (int trial = 0; trial < 20; trial++)
            {
                // Distances on a coarse grid, so that ties are common.
                var row = Enumerable.Range(0, length).Select(_ => random.Next(40) / 4f).ToArray();
                if (trial == 1) row[length / 2] = float.NaN;
                if (trial == 2) row[length - 1] = float.PositiveInfinity;
                for (int k = 1; k <= 3 && k < length; k++)
                {
                    var smallest = Enumerable.Repeat(float.PositiveInfinity, k + 1).ToArray();
                    foreach (float d in row)
                    {
                        if (d >= smallest[k]) continue;
                        int at = k;
                        while (at > 0 && smallest[at - 1] > d) { smallest[at] = smallest[at - 1]; at--; }
                        smallest[at] = d;
                    }
                    Assert.Equal(smallest[k], PrecisionRecall.KthNeighbour(row, k));
                }
                var radii = Enumerable.Range(0, length).Select(_ => random.Next(12) / 4f).ToArray();
                if (trial >= 10)
                {
                    // Inside one ball only, and only by a tie: every radius just short of its distance but one, equal to it.
                    for (int j = 0; j < length; j++) radii[j] = row[j] - 0.25f;
                    int tie = random.Next(length);
                    radii[tie] = row[tie];
                }
                float own = random.Next(12) / 4f;
                bool inside = false;
                var covered = new bool[length];
                for (int j = 0; j < length; j++)
                {
                    if (row[j] <= radii[j]) inside = true;
                    if (row[j] <= own) covered[j] = true;
                }
                var actual = new bool[length];
                Assert.Equal(inside, PrecisionRecall.Cover(row, radii, own, actual));
                Assert.Equal(covered, actual);
            }
    }

    [Fact]
    public void ActiveUnitsAreTheDimensionsWhoseMeansVary()
    {
        // Four images, three latent dimensions: the first varies (variance 1/3), the second is constant, the third varies
        // by 0.1 (variance 0.0033, below Burda et al.'s 0.01).
        float[] means = [0, 5, 0, 1, 5, 0.1f, 0, 5, 0, 1, 5, 0.1f];
        Assert.Equal(1, LatentAnalysis.ActiveUnits(means, 4, 3));
        Assert.Equal(2, LatentAnalysis.ActiveUnits(means, 4, 3, threshold: 0.001));
    }

    [Theory]
    [InlineData(300, 37, true)] // 37 columns: nine vectors of four or four of eight, and a scalar tail
    [InlineData(1000, 256, true)] // the classifier's features
    [InlineData(5, 2, false)]
    public void MomentsAreMathNetsBitForBit(int count, int dims, bool sample)
    {
        // The Gaussians of the Fréchet distance were fitted with Math.NET (ColumnSums() / count, then centredᵀ·centred / n);
        // the vectorised sums must give the committed study's numbers, so every element must be the same double. Features
        // of mixed scale, as ReLU features are (zeros among them), so that rounding differs between summation orders.
        var random = new Random(count * 31 + dims);
        var data = new float[count * dims];
        for (int i = 0; i < data.Length; i++) data[i] = random.Next(4) == 0 ? 0f : (float)(random.NextDouble() * Math.Pow(10, random.Next(-3, 3)));
        var rows = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(count, dims, (i, d) => data[i * dims + d]);
        var mean = rows.ColumnSums() / count;
        var centred = rows - MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(count, dims, (_, d) => mean[d]);
        var covariance = centred.TransposeThisAndMultiply(centred) / (sample ? count - 1 : count);
        var (actualMean, actualCovariance) = LatentAnalysis.Moments(data, count, dims, sample);
        static bool Same(double a, double b) => BitConverter.DoubleToInt64Bits(a) == BitConverter.DoubleToInt64Bits(b);
        for (int j = 0; j < dims; j++) Assert.True(Same(mean[j], actualMean[j]), $"mean[{j}]: {mean[j]:R} from Math.NET, {actualMean[j]:R} here");
        for (int i = 0; i < dims; i++)
            for (int j = 0; j < dims; j++)
                Assert.True(Same(covariance[i, j], actualCovariance[i, j]),
                    $"S[{i}, {j}]: {covariance[i, j]:R} from Math.NET, {actualCovariance[i, j]:R} here");
    }

    [Fact]
    public void SaturatedAndEmptySharesCountMeanIntensities()
    {
        // Four 2-pixel images: means 0.01 (empty), 0.5, 0.7 (saturated), 0.64 (neither).
        float[] images = [0, 0.02f, 0.4f, 0.6f, 0.7f, 0.7f, 0.64f, 0.64f];
        Assert.Equal(0.25, LatentAnalysis.EmptyShare(images, 4, 2), 12);
        Assert.Equal(0.25, LatentAnalysis.SaturatedShare(images, 4, 2), 12);
    }
}
