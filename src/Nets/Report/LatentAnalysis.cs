using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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
    /// with <paramref name="sample"/> the sample covariance (count − 1). The numbers are Math.NET's, bit for bit (tested):
    /// its ColumnSums() / count, then centredᵀ·centred / n, which copied the rows into count × dims matrices of doubles
    /// twice and multiplied them one scalar product at a time.</summary>
    public static (Vector<double> Mean, Matrix<double> Covariance) Moments(float[] data, int count, int dims, bool sample = false)
    {
        // Each column summed over the rows in order from 0, then divided by count, as Math.NET's ColumnSums() / count.
        var mean = new double[dims];
        for (int r = 0; r < count; r++)
            for (int d = 0; d < dims; d++) mean[d] += data[r * dims + d];
        for (int d = 0; d < dims; d++) mean[d] /= count;
        return (Vector<double>.Build.Dense(mean), CentredProducts(data, mean, count, dims) / (sample ? count - 1 : count));
    }

    /// <summary>S[i, j] = Σ_r c(r, i)·c(r, j) with c(r, d) = (double)data[r, d] − mean[d]: each sum in r order, one rounding
    /// per product and per add, as Math.NET's managed centredᵀ·centred computes it. Here 4 rows of S
    /// × 2 vectors of columns are summed in registers over a chunk of r (its rows of c in cache), the chunks in order, the
    /// threads taking blocks of rows of S: 10,000 × 256 features took 0.5 s in Math.NET, and the study fits two such
    /// Gaussians per run.</summary>
    static Matrix<double> CentredProducts(float[] data, double[] mean, int count, int dims)
    {
        var centred = new double[count * dims];
        for (int r = 0; r < count; r++)
            for (int d = 0; d < dims; d++) centred[r * dims + d] = data[r * dims + d] - mean[d];
        var sums = new double[dims * dims];
        const int Height = 4, Chunk = 256;
        int w = Doubles.Count, wide = dims / (2 * w) * (2 * w);
        for (int r0 = 0; r0 < count; r0 += Chunk)
        {
            int r1 = Math.Min(count, r0 + Chunk);
            Parallel.For(0, (dims + Height - 1) / Height, block =>
            {
                int i0 = block * Height, height = Math.Min(Height, dims - i0);
                if (height < Height)
                {
                    for (int i = i0; i < dims; i++) SumColumns(centred, sums, dims, i, 0, dims, r0, r1);
                    return;
                }
                ref double c = ref MemoryMarshal.GetArrayDataReference(centred);
                ref double s0 = ref MemoryMarshal.GetArrayDataReference(sums);
                for (int j = 0; j < wide; j += 2 * w)
                {
                    ref double t0 = ref Unsafe.Add(ref s0, i0 * dims + j);
                    ref double t1 = ref Unsafe.Add(ref t0, dims);
                    ref double t2 = ref Unsafe.Add(ref t1, dims);
                    ref double t3 = ref Unsafe.Add(ref t2, dims);
                    Doubles a00 = Vector.LoadUnsafe(ref t0), a01 = Vector.LoadUnsafe(ref t0, (nuint)w), a10 = Vector.LoadUnsafe(ref t1), a11 = Vector.LoadUnsafe(ref t1, (nuint)w),
                        a20 = Vector.LoadUnsafe(ref t2), a21 = Vector.LoadUnsafe(ref t2, (nuint)w), a30 = Vector.LoadUnsafe(ref t3), a31 = Vector.LoadUnsafe(ref t3, (nuint)w);
                    for (int r = r0; r < r1; r++)
                    {
                        ref double row = ref Unsafe.Add(ref c, r * dims);
                        Doubles b0 = Vector.LoadUnsafe(ref row, (nuint)j), b1 = Vector.LoadUnsafe(ref row, (nuint)(j + w));
                        var x = new Doubles(Unsafe.Add(ref row, i0)); a00 += x * b0; a01 += x * b1;
                        x = new Doubles(Unsafe.Add(ref row, i0 + 1)); a10 += x * b0; a11 += x * b1;
                        x = new Doubles(Unsafe.Add(ref row, i0 + 2)); a20 += x * b0; a21 += x * b1;
                        x = new Doubles(Unsafe.Add(ref row, i0 + 3)); a30 += x * b0; a31 += x * b1;
                    }
                    Vector.StoreUnsafe(a00, ref t0); Vector.StoreUnsafe(a01, ref t0, (nuint)w); Vector.StoreUnsafe(a10, ref t1); Vector.StoreUnsafe(a11, ref t1, (nuint)w);
                    Vector.StoreUnsafe(a20, ref t2); Vector.StoreUnsafe(a21, ref t2, (nuint)w); Vector.StoreUnsafe(a30, ref t3); Vector.StoreUnsafe(a31, ref t3, (nuint)w);
                }
                for (int i = i0; i < i0 + Height; i++) SumColumns(centred, sums, dims, i, wide, dims, r0, r1);
            });
        }
        return Matrix<double>.Build.Dense(dims, dims, (i, j) => sums[i * dims + j]);
    }

    /// <summary>S[i, j] += Σ_r c(r, i)·c(r, j) over rows [r0, r1), for j in [j0, j1), one at a time.</summary>
    static void SumColumns(double[] centred, double[] sums, int dims, int i, int j0, int j1, int r0, int r1)
    {
        for (int j = j0; j < j1; j++)
        {
            double sum = sums[i * dims + j];
            for (int r = r0; r < r1; r++) sum += centred[r * dims + i] * centred[r * dims + j];
            sums[i * dims + j] = sum;
        }
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
