using GpuAe.Kernels;

namespace GpuAe.Nets.Report;

/// <summary>
/// Improved precision and recall (Kynkäänniemi et al., 2019, "Improved precision and recall metric for assessing
/// generative models"): each set of feature vectors stands for the manifold of the union of balls around its points,
/// each ball reaching the point's k-th nearest neighbour in its own set. Precision is the share of generated points
/// inside the real manifold (are the samples realistic?), recall the share of real points inside the generated manifold
/// (do the samples cover the data?). A model that draws blurry averages scores low precision; one that draws few kinds
/// of image scores low recall. The distances are products on the backend (‖a‖² + ‖b‖² − 2 a·b), in blocks of rows.
/// </summary>
public static class PrecisionRecall
{
    public const int K = 3;
    const int BlockRows = 512;

    /// <summary>Each row's squared distance to its k-th nearest neighbour among the other rows of the same set.</summary>
    public static float[] SquaredRadii(IBackend backend, float[] points, int count, int dims, int k = K)
    {
        if (count <= k) throw new ArgumentException($"need more than k = {k} points for the k-th nearest neighbour (got {count})");
        var radii = new float[count];
        ForEachBlock(backend, points, count, points, count, dims, (first, rows, squared) =>
        {
            Parallel.For(0, rows, r =>
            {
                // The k + 1 smallest distances of the row (its own, 0, among them), kept sorted.
                Span<float> smallest = stackalloc float[k + 1];
                smallest.Fill(float.PositiveInfinity);
                var row = squared.AsSpan(r * count, count);
                foreach (float d in row)
                {
                    if (d >= smallest[k]) continue;
                    int at = k;
                    while (at > 0 && smallest[at - 1] > d) { smallest[at] = smallest[at - 1]; at--; }
                    smallest[at] = d;
                }
                radii[first + r] = smallest[k];
            });
        });
        return radii;
    }

    /// <summary>Precision (generated inside the real manifold) and recall (real inside the generated manifold), the
    /// real set's squared radii given (they depend on the real set alone, so a study computes them once).</summary>
    public static (double Precision, double Recall) Of(IBackend backend, float[] real, int realCount, float[] realRadii, float[] generated,
        int generatedCount, int dims, int k = K)
    {
        var generatedRadii = SquaredRadii(backend, generated, generatedCount, dims, k);
        var realCovered = new bool[realCount];
        int precise = 0;
        ForEachBlock(backend, generated, generatedCount, real, realCount, dims, (first, rows, squared) =>
        {
            var inside = new bool[rows];
            Parallel.For(0, rows, r =>
            {
                var row = squared.AsSpan(r * realCount, realCount);
                float own = generatedRadii[first + r];
                for (int j = 0; j < realCount; j++)
                {
                    if (row[j] <= realRadii[j]) inside[r] = true;
                    if (row[j] <= own) realCovered[j] = true; // a benign race: every writer writes true
                }
            });
            precise += inside.Count(b => b);
        });
        return ((double)precise / generatedCount, (double)realCovered.Count(b => b) / realCount);
    }

    /// <summary>Squared distances between blocks of rows of <paramref name="a"/> and every row of <paramref name="b"/>,
    /// handed over block by block as [rows, bCount].</summary>
    static void ForEachBlock(IBackend backend, float[] a, int aCount, float[] b, int bCount, int dims, Action<int, int, float[]> block)
    {
        using var scope = backend.Scope();
        var bNorms = Norms(b, bCount, dims);
        var bDevice = backend.Allocate(bCount * dims);
        backend.Upload(bDevice, b.AsSpan(0, bCount * dims));
        var zeros = backend.Allocate(bCount);
        int most = Math.Min(BlockRows, aCount);
        var aDevice = backend.Allocate(most * dims);
        var products = backend.Allocate(most * bCount);
        var squared = new float[most * bCount];
        for (int first = 0; first < aCount; first += most)
        {
            int rows = Math.Min(most, aCount - first);
            backend.Upload(aDevice.Slice(0, rows * dims), a.AsSpan(first * dims, rows * dims));
            backend.DenseForward(aDevice, bDevice, zeros, products, rows, dims, bCount, Activation.None);
            backend.Download(products.Slice(0, rows * bCount), squared.AsSpan(0, rows * bCount));
            var aNorms = Norms(a.AsSpan(first * dims, rows * dims).ToArray(), rows, dims);
            Parallel.For(0, rows, r =>
            {
                var row = squared.AsSpan(r * bCount, bCount);
                for (int j = 0; j < bCount; j++) row[j] = aNorms[r] + bNorms[j] - 2 * row[j];
            });
            block(first, rows, squared);
        }
    }

    static float[] Norms(float[] rows, int count, int dims)
    {
        var norms = new float[count];
        for (int i = 0; i < count; i++)
        {
            double sum = 0;
            for (int f = 0; f < dims; f++) sum += (double)rows[i * dims + f] * rows[i * dims + f];
            norms[i] = (float)sum;
        }
        return norms;
    }
}
