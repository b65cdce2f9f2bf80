using Vector = System.Numerics.Vector;
using Doubles = System.Numerics.Vector<double>;
using Floats = System.Numerics.Vector<float>;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Factorization;

namespace GpuAe.Nets.Report;

/// <summary>Tools to look at latent codes: PCA to 2-D, and how well nearby codes share a class.</summary>
public static class LatentAnalysis
{
    /// <summary>Mean and covariance of the rows of data[count, dims]: the population covariance (divided by count), or
    /// with <paramref name="sample"/> the sample covariance (count − 1).</summary>
    public static (Vector<double> Mean, Matrix<double> Covariance) Moments(float[] data, int count, int dims, bool sample = false)
    {
        var rows = Matrix<double>.Build.Dense(count, dims, (i, d) => data[i * dims + d]);
        var mean = rows.ColumnSums() / count;
        var centred = rows - Matrix<double>.Build.Dense(count, dims, (_, d) => mean[d]);
        return (mean, centred.TransposeThisAndMultiply(centred) / (sample ? count - 1 : count));
    }

    /// <summary>Standard deviations of the rows of data[count, dims] along their principal axes, largest first.</summary>
    public static double[] PrincipalSds(float[] data, int count, int dims) =>
        [.. Moments(data, count, dims).Covariance.Evd(Symmetricity.Symmetric).EigenValues.Select(v => Math.Sqrt(Math.Max(v.Real, 0))).OrderDescending()];

    /// <summary>Projects rows of data[count, dims] onto their two principal axes (the covariance's top eigenvectors,
    /// Math.NET's symmetric eigendecomposition), with the share of the total variance each axis explains. Signs are
    /// fixed so each axis's largest loading is positive, for stable figures.</summary>
    public static (double[] X, double[] Y, double ExplainedX, double ExplainedY) Pca2(float[] data, int count, int dims)
    {
        var (mean, covariance) = Moments(data, count, dims);
        var evd = covariance.Evd(Symmetricity.Symmetric); // eigenvalues ascending
        var values = evd.EigenValues.Select(v => v.Real).ToArray();
        double total = values.Sum();
        Vector<double> Axis(int fromTop)
        {
            var v = evd.EigenVectors.Column(dims - 1 - fromTop);
            int largest = v.AbsoluteMaximumIndex();
            return v[largest] < 0 ? -v : v;
        }
        var first = Axis(0);
        var second = dims > 1 ? Axis(1) : Vector<double>.Build.Dense(dims);
        var xs = new double[count]; var ys = new double[count];
        for (int i = 0; i < count; i++)
            for (int d = 0; d < dims; d++)
            {
                double centred = data[i * dims + d] - mean[d];
                xs[i] += centred * first[d];
                ys[i] += centred * second[d];
            }
        return (xs, ys, values[dims - 1] / total, dims > 1 ? values[dims - 2] / total : 0);
    }

    /// <summary>n samples z = m + L·ε of the Gaussian N(m, S) fitted to the rows of codes[count, dims] (S = L·Lᵀ by
    /// Cholesky, a tiny ridge keeping it positive definite when a ReLU code has dead units), ε standard normal from
    /// the counter generator keyed by (seed, stream): how an AE can be made to "generate".</summary>
    public static float[] FittedGaussianSamples(float[] codes, int count, int dims, int n, ulong seed, ulong stream)
    {
        var (mean, covariance) = Moments(codes, count, dims);
        var l = (covariance + Matrix<double>.Build.DenseIdentity(dims) * 1e-6 * Math.Max(covariance.Diagonal().Maximum(), 1e-12)).Cholesky().Factor;
        var samples = new float[n * dims];
        for (int i = 0; i < n; i++)
        {
            var eps = Vector<double>.Build.Dense(dims, d => GpuAe.Kernels.Sampling.Normal(seed, stream, (ulong)(i * dims + d)));
            var z = mean + l * eps;
            for (int d = 0; d < dims; d++) samples[i * dims + d] = (float)z[d];
        }
        return samples;
    }

    /// <summary>An image counts as near-empty when its mean intensity is below this (the test images' mean is about
    /// 0.29; the share of test images below it is reported beside every model's).</summary>
    public const double EmptyIntensity = 0.05;

    /// <summary>An image counts as near-saturated when its mean intensity is above this: brighter than all but about
    /// 0.2 % of the test images (their largest is about 0.71); the failure of a sampler that lands beyond the codes of
    /// real images and decodes a white blob. The test images' share is reported beside every model's.</summary>
    public const double SaturatedIntensity = 0.65;

    /// <summary>Share of images[n, features] whose mean intensity is below <see cref="EmptyIntensity"/>.</summary>
    public static double EmptyShare(float[] images, int n, int features) => Share(images, n, features, mean => mean < EmptyIntensity);

    /// <summary>Share of images[n, features] whose mean intensity is above <see cref="SaturatedIntensity"/>.</summary>
    public static double SaturatedShare(float[] images, int n, int features) => Share(images, n, features, mean => mean > SaturatedIntensity);

    static double Share(float[] images, int n, int features, Func<double, bool> counts)
    {
        int counted = 0;
        for (int i = 0; i < n; i++)
        {
            double sum = 0;
            for (int p = 0; p < features; p++) sum += images[i * features + p];
            if (counts(sum / features)) counted++;
        }
        return (double)counted / n;
    }

    /// <summary>Active units (Burda et al., 2016): the latent dimensions u whose posterior mean varies over the data,
    /// Cov_x(E_q[z_u]) above 0.01; the others carry no information about the image. means[count, dims] are μ.</summary>
    public static int ActiveUnits(float[] means, int count, int dims, double threshold = 0.01) =>
        Moments(means, count, dims, sample: true).Covariance.Diagonal().Count(variance => variance > threshold);

    /// <summary>The mean over rows of the Euclidean distance between a[i] and b[i] (rows of `width`).</summary>
    public static double MeanRowDistance(float[] a, float[] b, int count, int width)
    {
        double total = 0;
        for (int i = 0; i < count; i++)
        {
            double sum = 0;
            for (int f = 0; f < width; f++) { double d = a[i * width + f] - b[i * width + f]; sum += d * d; }
            total += Math.Sqrt(sum);
        }
        return total / count;
    }

    /// <summary>Leave-one-out k-nearest-neighbour accuracy of the labels from the codes data[count, dims] (Euclidean,
    /// majority vote, ties to the nearest): how strongly the latent space groups images by class.</summary>
    public static double KnnAccuracy(float[] data, byte[] labels, int count, int dims, int k = 5)
    {
        // The points stored dimension-major, so that one vector holds one coordinate of w consecutive candidates: each
        // candidate's distance is still Σ_d (double)(x_i,d − x_j,d)², the float difference widened, added in d order,
        // exactly as one at a time, so the neighbours (ties included) do not depend on the vector width.
        int w = Floats.Count;
        var byDim = new float[dims * count];
        for (int j = 0; j < count; j++)
            for (int d = 0; d < dims; d++) byDim[d * count + j] = data[j * dims + d];
        int correct = 0;
        Parallel.For(0, count, () => 0, (i, _, local) =>
        {
            var best = new (double Distance, byte Label)[k];
            Array.Fill(best, (double.MaxValue, (byte)0));
            void Offer(int j, double dist)
            {
                if (j == i || dist >= best[k - 1].Distance) return;
                int at = k - 1;
                while (at > 0 && best[at - 1].Distance > dist) { best[at] = best[at - 1]; at--; }
                best[at] = (dist, labels[j]);
            }
            Span<double> block = stackalloc double[w];
            int j = 0;
            for (; j + w <= count; j += w)
            {
                Doubles low = Doubles.Zero, high = Doubles.Zero;
                for (int d = 0; d < dims; d++)
                {
                    var diff = new Floats(data[i * dims + d]) - new Floats(byDim, d * count + j);
                    Vector.Widen(diff, out var lo, out var hi);
                    low += lo * lo;
                    high += hi * hi;
                }
                low.CopyTo(block); high.CopyTo(block[Doubles.Count..]);
                for (int l = 0; l < w; l++) Offer(j + l, block[l]);
            }
            for (; j < count; j++)
            {
                double dist = 0;
                for (int d = 0; d < dims; d++) { double diff = data[i * dims + d] - data[j * dims + d]; dist += diff * diff; }
                Offer(j, dist);
            }
            var votes = new int[256];
            foreach (var (_, label) in best) votes[label]++;
            byte predicted = best[0].Label;
            foreach (var (_, label) in best) if (votes[label] > votes[predicted]) predicted = label;
            return local + (predicted == labels[i] ? 1 : 0);
        }, local => Interlocked.Add(ref correct, local));
        return (double)correct / count;
    }
}
