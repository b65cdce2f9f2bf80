using System.Numerics;
using GpuAe.Kernels;
using Floats = System.Numerics.Vector<float>;

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
                radii[first + r] = KthNeighbour(squared.AsSpan(r * count, count), k);
            });
        });
        return radii;
    }

    /// <summary>The k + 1-th smallest of a row of distances (the row's own point, at 0, among them: its k-th neighbour's),
    /// the k + 1 smallest kept sorted as they come. A vector of distances none of which can enter (every one ≥ the largest
    /// kept) is passed over whole; the others are offered one by one, in order: the same result as one at a time.</summary>
    internal static float KthNeighbour(ReadOnlySpan<float> row, int k)
    {
        Span<float> smallest = stackalloc float[k + 1];
        smallest.Fill(float.PositiveInfinity);
        int j = 0;
        for (; j + Floats.Count <= row.Length; j += Floats.Count)
            if (!Vector.GreaterThanOrEqualAll(new Floats(row[j..]), new Floats(smallest[k])))
                for (int l = j; l < j + Floats.Count; l++) Offer(smallest, row[l], k);
        for (; j < row.Length; j++) Offer(smallest, row[j], k);
        return smallest[k];
    }

    /// <summary>Keeps d among the k + 1 smallest distances, sorted, when it is smaller than the largest of them.</summary>
    static void Offer(Span<float> smallest, float d, int k)
    {
        if (d >= smallest[k]) return;
        int at = k;
        while (at > 0 && smallest[at - 1] > d) { smallest[at] = smallest[at - 1]; at--; }
        smallest[at] = d;
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
                inside[r] = Cover(squared.AsSpan(r * realCount, realCount), realRadii, generatedRadii[first + r], realCovered);
            });
            precise += inside.Count(b => b);
        });
        return ((double)precise / generatedCount, (double)realCovered.Count(b => b) / realCount);
    }

    /// <summary>For one generated point's squared distances to the real points: whether it lies inside some real point's ball
    /// (the result), and which real points lie inside its own ball of squared radius <paramref name="own"/> (marked true in
    /// <paramref name="realCovered"/>; rows in parallel may mark the same point, every writer writes true).</summary>
    internal static bool Cover(ReadOnlySpan<float> row, float[] realRadii, float own, bool[] realCovered)
    {
        bool inside = false;
        var ownVector = new Floats(own);
        int j = 0;
        for (; j + Floats.Count <= row.Length; j += Floats.Count)
        {
            var distances = new Floats(row[j..]);
            if (Vector.LessThanOrEqualAny(distances, new Floats(realRadii, j))) inside = true;
            if (Vector.LessThanOrEqualAny(distances, ownVector))
                for (int l = j; l < j + Floats.Count; l++) if (row[l] <= own) realCovered[l] = true;
        }
        for (; j < row.Length; j++)
        {
            if (row[j] <= realRadii[j]) inside = true;
            if (row[j] <= own) realCovered[j] = true;
        }
        return inside;
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
                var aNorm = new Floats(aNorms[r]);
                int j = 0;
                for (; j + Floats.Count <= bCount; j += Floats.Count) (aNorm + new Floats(bNorms, j) - new Floats(2f) * new Floats(row[j..])).CopyTo(row[j..]);
                for (; j < bCount; j++) row[j] = aNorms[r] + bNorms[j] - 2 * row[j];
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
