using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Factorization;

namespace GpuAe.Nets.Report;

/// <summary>A Gaussian fitted to feature rows: their mean and sample covariance (n − 1).</summary>
public sealed record Gaussian(Vector<double> Mean, Matrix<double> Covariance)
{
    public static Gaussian Fit(float[] rows, int count, int dims)
    {
        var (mean, covariance) = LatentAnalysis.Moments(rows, count, dims, sample: true);
        return new(mean, covariance);
    }
}

/// <summary>
/// The Fréchet distance between two Gaussians, the 2-Wasserstein distance squared:
/// ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁^½ Σ₂ Σ₁^½)^½). On Inception features it is the FID; the report computes it on its own
/// Fashion-MNIST classifier's features, so its numbers are not comparable with Inception FIDs. The matrix square roots
/// come from Math.NET's symmetric eigendecomposition (both matrices are symmetric positive semi-definite; eigenvalues
/// that rounding makes slightly negative count as 0).
/// </summary>
public static class Frechet
{
    public static double Distance(Gaussian a, Gaussian b)
    {
        var rootA = SquareRoot(a.Covariance);
        var middle = rootA * b.Covariance * rootA;
        middle = (middle + middle.Transpose()) / 2; // symmetric up to rounding: make it exactly so for the symmetric solver
        double traceRoot = middle.Evd(Symmetricity.Symmetric).EigenValues.Sum(v => Math.Sqrt(Math.Max(v.Real, 0)));
        double meanTerm = (a.Mean - b.Mean).DotProduct(a.Mean - b.Mean);
        return meanTerm + a.Covariance.Trace() + b.Covariance.Trace() - 2 * traceRoot;
    }

    /// <summary>The symmetric positive semi-definite square root: V·diag(√λ)·Vᵀ.</summary>
    static Matrix<double> SquareRoot(Matrix<double> symmetric)
    {
        var evd = symmetric.Evd(Symmetricity.Symmetric);
        var roots = Matrix<double>.Build.DiagonalOfDiagonalVector(
            Vector<double>.Build.Dense(evd.EigenValues.Count, i => Math.Sqrt(Math.Max(evd.EigenValues[i].Real, 0))));
        return evd.EigenVectors * roots * evd.EigenVectors.Transpose();
    }
}
