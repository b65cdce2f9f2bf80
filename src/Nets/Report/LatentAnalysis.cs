namespace GpuAe.Nets.Report;

/// <summary>Tools to look at latent codes: PCA to 2-D, and how well nearby codes share a class.</summary>
public static class LatentAnalysis
{
    /// <summary>Projects rows of data[count, dims] onto their two principal axes (power iteration on the covariance,
    /// with deflation). Signs are fixed so each axis's largest loading is positive, for stable figures.</summary>
    public static (double[] X, double[] Y) Pca2(float[] data, int count, int dims)
    {
        var mean = new double[dims];
        for (int i = 0; i < count; i++) for (int d = 0; d < dims; d++) mean[d] += data[i * dims + d];
        for (int d = 0; d < dims; d++) mean[d] /= count;
        var cov = new double[dims, dims];
        for (int i = 0; i < count; i++)
            for (int a = 0; a < dims; a++)
            {
                double da = data[i * dims + a] - mean[a];
                for (int b = 0; b < dims; b++) cov[a, b] += da * (data[i * dims + b] - mean[b]);
            }
        var first = TopEigenvector(cov, dims);
        double lambda = Rayleigh(cov, first, dims);
        for (int a = 0; a < dims; a++) for (int b = 0; b < dims; b++) cov[a, b] -= lambda * first[a] * first[b];
        var second = TopEigenvector(cov, dims);
        var xs = new double[count]; var ys = new double[count];
        for (int i = 0; i < count; i++)
            for (int d = 0; d < dims; d++)
            {
                double centred = data[i * dims + d] - mean[d];
                xs[i] += centred * first[d];
                ys[i] += centred * second[d];
            }
        return (xs, ys);
    }

    static double[] TopEigenvector(double[,] m, int n)
    {
        var v = Enumerable.Range(0, n).Select(i => 1.0 + 0.01 * i).ToArray();
        for (int iteration = 0; iteration < 500; iteration++)
        {
            var next = new double[n];
            for (int a = 0; a < n; a++) for (int b = 0; b < n; b++) next[a] += m[a, b] * v[b];
            double norm = Math.Sqrt(next.Sum(x => x * x));
            if (norm == 0) break;
            for (int a = 0; a < n; a++) next[a] /= norm;
            v = next;
        }
        int largest = 0;
        for (int a = 1; a < n; a++) if (Math.Abs(v[a]) > Math.Abs(v[largest])) largest = a;
        if (v[largest] < 0) for (int a = 0; a < n; a++) v[a] = -v[a];
        return v;
    }

    static double Rayleigh(double[,] m, double[] v, int n)
    {
        double sum = 0;
        for (int a = 0; a < n; a++) for (int b = 0; b < n; b++) sum += v[a] * m[a, b] * v[b];
        return sum;
    }

    /// <summary>Leave-one-out k-nearest-neighbour accuracy of the labels from the codes data[count, dims] (Euclidean,
    /// majority vote, ties to the nearest): how strongly the latent space groups images by class.</summary>
    public static double KnnAccuracy(float[] data, byte[] labels, int count, int dims, int k = 5)
    {
        int correct = 0;
        var lockObject = new object();
        Parallel.For(0, count, () => 0, (i, _, local) =>
        {
            var best = new (double Distance, byte Label)[k];
            Array.Fill(best, (double.MaxValue, (byte)0));
            for (int j = 0; j < count; j++)
            {
                if (j == i) continue;
                double dist = 0;
                for (int d = 0; d < dims; d++) { double diff = data[i * dims + d] - data[j * dims + d]; dist += diff * diff; }
                if (dist >= best[k - 1].Distance) continue;
                int at = k - 1;
                while (at > 0 && best[at - 1].Distance > dist) { best[at] = best[at - 1]; at--; }
                best[at] = (dist, labels[j]);
            }
            var votes = new int[256];
            foreach (var (_, label) in best) votes[label]++;
            byte predicted = best[0].Label;
            foreach (var (_, label) in best) if (votes[label] > votes[predicted]) predicted = label;
            return local + (predicted == labels[i] ? 1 : 0);
        }, local => { lock (lockObject) correct += local; });
        return (double)correct / count;
    }
}
