using GpuAe.Nets.Report;
using MathNet.Numerics.LinearAlgebra;
using Xunit;

namespace GpuAe.Tests.Report;

/// <summary>The Fréchet distance against its closed forms for two Gaussians.</summary>
public class FrechetTests
{
    static Matrix<double> M(double[,] a) => Matrix<double>.Build.DenseOfArray(a);
    static Vector<double> V(params double[] a) => Vector<double>.Build.DenseOfArray(a);

    /// <summary>Covariances sharing eigenvectors (a rotation R): the distance is ‖Δμ‖² + Σ (√aᵢ − √bᵢ)².</summary>
    [Fact]
    public void CommutingCovariancesGiveTheSumOfSquaredRootDifferences()
    {
        double t = 0.7;
        var r = M(new[,] { { Math.Cos(t), -Math.Sin(t), 0 }, { Math.Sin(t), Math.Cos(t), 0 }, { 0, 0, 1 } });
        double[] a = [4, 1, 0.25], b = [1, 9, 0.25];
        var ca = r * Matrix<double>.Build.DiagonalOfDiagonalArray(a) * r.Transpose();
        var cb = r * Matrix<double>.Build.DiagonalOfDiagonalArray(b) * r.Transpose();
        var ma = V(1, 2, 3); var mb = V(0, 2, 5);
        double expected = 1 + 0 + 4 + a.Zip(b, (x, y) => (Math.Sqrt(x) - Math.Sqrt(y)) * (Math.Sqrt(x) - Math.Sqrt(y))).Sum(); // (2−1)² + (1−3)² + 0
        Assert.Equal(expected, Frechet.Distance(new Gaussian(ma, ca), new Gaussian(mb, cb)), 10);
    }

    /// <summary>Any two 2×2 covariances: for a 2×2 positive semi-definite M, Tr √M = √(Tr M + 2√det M), and
    /// Σ₁^½ Σ₂ Σ₁^½ has the trace of Σ₁Σ₂ and the determinant det Σ₁ · det Σ₂.</summary>
    [Fact]
    public void NonCommutingTwoByTwoCovariancesMatchTheClosedForm()
    {
        var ca = M(new[,] { { 2.0, 0.6 }, { 0.6, 1.0 } });
        var cb = M(new[,] { { 0.5, -0.3 }, { -0.3, 3.0 } });
        Assert.NotEqual(ca * cb, cb * ca); // they do not commute
        double traceRoot = Math.Sqrt((ca * cb).Trace() + 2 * Math.Sqrt(ca.Determinant() * cb.Determinant()));
        double expected = 0.5 * 0.5 + 1 + ca.Trace() + cb.Trace() - 2 * traceRoot; // Δμ = (0.5, −1)
        Assert.Equal(expected, Frechet.Distance(new Gaussian(V(0.5, 0), ca), new Gaussian(V(0, 1), cb)), 10);
        Assert.Equal(0, Frechet.Distance(new Gaussian(V(1, 1), ca), new Gaussian(V(1, 1), ca)), 10);
    }

    /// <summary>The fit: the mean and the sample covariance (n − 1) of the rows, computed here by hand.</summary>
    [Fact]
    public void FitIsTheMeanAndSampleCovarianceOfTheRows()
    {
        float[] rows = [1, 2, 3, 6, 5, 1]; // (1, 2), (3, 6), (5, 1)
        var g = Gaussian.Fit(rows, 3, 2);
        Assert.Equal([3.0, 3.0], g.Mean.ToArray());
        // x: −2, 0, 2 → var 8 / 2 = 4; y: −1, 3, −2 → var 14 / 2 = 7; cov: (2 + 0 − 4) / 2 = −1.
        Assert.Equal(new[,] { { 4.0, -1.0 }, { -1.0, 7.0 } }, g.Covariance.ToArray());
    }

    /// <summary>Class coverage: the entropy of the class shares, 0 (not a rounding error below it) when every sample is
    /// in one class, ln 10 when the ten are equal.</summary>
    [Fact]
    public void ClassEntropyIsZeroForOneClassAndLn10ForAllTen()
    {
        Assert.Equal(0.0, new GenerationScores(0, 0, [0, 0, 1.0, 0, 0, 0, 0, 0, 0, 0], 0, 0).ClassEntropy);
        Assert.Equal(Math.Log(10), new GenerationScores(0, 0, [.. Enumerable.Repeat(0.1, 10)], 0, 0).ClassEntropy, 12);
    }
}
