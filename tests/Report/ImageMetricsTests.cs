using GpuAe.Nets.Report;
using Xunit;

namespace GpuAe.Tests.Report;

public class ImageMetricsTests
{
    [Fact]
    public void MseAndPsnrMatchHandValues()
    {
        float[] a = [0f, 0.5f, 1f, 0.2f];
        float[] b = [0.1f, 0.5f, 0.8f, 0.2f];
        // MSE = (0.01 + 0 + 0.04 + 0) / 4 = 0.0125; PSNR = 10·log₁₀(1/0.0125) = 19.0309 dB
        Assert.Equal(0.0125, ImageMetrics.Mse(a, b), 7);
        Assert.Equal(19.0309, ImageMetrics.Psnr(a, b), 4);
        Assert.Equal(ImageMetrics.MaxPsnr, ImageMetrics.Psnr(a, a));
    }

    [Fact]
    public void SsimOfAnImageWithItselfIsOne()
    {
        var x = Values.Uniform01(28 * 28, 81);
        Assert.Equal(1.0, ImageMetrics.Ssim(x, x, 28, 28), 10);
    }

    [Fact]
    public void SsimOfConstantImagesMatchesHandValue()
    {
        // σ = 0 everywhere: SSIM = (2·0.2·0.6 + C1)·C2 / ((0.2² + 0.6² + C1)·C2) = 0.2401 / 0.4001 = 0.600099975
        var x = Enumerable.Repeat(0.2f, 28 * 28).ToArray();
        var y = Enumerable.Repeat(0.6f, 28 * 28).ToArray();
        Assert.Equal(0.600099975, ImageMetrics.Ssim(x, y, 28, 28), 6);
    }

    [Fact]
    public void SsimOfACheckerboardAndItsNegativeMatchesHandValue()
    {
        // One 7×7 window. x: checkerboard with 25 ones, y = 1 − x (24 ones).
        // μx = 25/49, μy = 24/49, σx² = σy² = (25/49)(24/49) = 0.249896, σxy = −0.249896 (y = 1 − x):
        // SSIM = (2μxμy + C1)(2σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2)) = −0.995575493
        var x = new float[49]; var y = new float[49];
        for (int i = 0; i < 49; i++) { x[i] = (i / 7 + i % 7) % 2 == 0 ? 1f : 0f; y[i] = 1 - x[i]; }
        Assert.Equal(-0.995575493, ImageMetrics.Ssim(x, y, 7, 7), 6);
    }

    /// <summary>SSIM over many windows against a reference written another way: every 7×7 window's pixels gathered into
    /// arrays, two-pass moments, the windows listed by their top-left corners 0…width−7 and 0…height−7. Images of
    /// different widths and heights (rows and columns not swappable) with correlated noise; both arguments' orders.
    /// Mutants tried and caught: the last row of windows missed (top + w &lt; height; the checkerboard test catches it
    /// too), x's variance counted twice in the denominator (vx + vx: only this test catches it).</summary>
    [Theory]
    [InlineData(28, 28)]
    [InlineData(20, 13)]
    [InlineData(9, 31)]
    public void SsimOverManyWindowsMatchesAReferenceWrittenAnotherWay(int width, int height)
    {
        var x = Values.Uniform01(width * height, 90 + width);
        var noise = Values.Random(width * height, 91 + height, 0.3f);
        var y = x.Select((v, i) => Math.Clamp(v * 0.8f + noise[i] + (i % width) * 0.01f, 0f, 1f)).ToArray();
        double Reference(float[] a, float[] b)
        {
            const int w = ImageMetrics.SsimWindow;
            var scores = new List<double>();
            foreach (int top in Enumerable.Range(0, height - w + 1))
                foreach (int left in Enumerable.Range(0, width - w + 1))
                {
                    var pa = new List<double>(); var pb = new List<double>();
                    for (int r = 0; r < w; r++)
                        for (int c = 0; c < w; c++) { pa.Add(a[(top + r) * width + left + c]); pb.Add(b[(top + r) * width + left + c]); }
                    double ma = pa.Average(), mb = pb.Average();
                    double va = pa.Average(v => (v - ma) * (v - ma)), vb = pb.Average(v => (v - mb) * (v - mb));
                    double cov = pa.Zip(pb).Average(p => (p.First - ma) * (p.Second - mb));
                    scores.Add((2 * ma * mb + ImageMetrics.C1) * (2 * cov + ImageMetrics.C2) / ((ma * ma + mb * mb + ImageMetrics.C1) * (va + vb + ImageMetrics.C2)));
                }
            return scores.Average();
        }
        double expected = Reference(x, y);
        Assert.InRange(expected, 0.2, 0.95); // neither identical nor unrelated: every term matters
        Assert.Equal(expected, ImageMetrics.Ssim(x, y, width, height), 9);
        Assert.Equal(expected, ImageMetrics.Ssim(y, x, width, height), 9);
    }

    [Fact]
    public void NormalQuantilesMatchReferenceValues()
    {
        // Reference quantiles of the standard normal (scipy.stats.norm.ppf). Acklam's approximation promises a relative
        // error below 1.15e-9, i.e. below 4e-9 absolute for |z| ≤ 3.1: tolerance 5e-9.
        const double tolerance = 5e-9;
        Assert.Equal(1.959963985, NormalQuantile.Inverse(0.975), tolerance);
        Assert.Equal(-1.644853627, NormalQuantile.Inverse(0.05), tolerance);
        Assert.Equal(-3.090232306, NormalQuantile.Inverse(0.001), tolerance);
        Assert.Equal(0.0, NormalQuantile.Inverse(0.5), 12);
        var grid = NormalQuantile.Grid(15);
        Assert.Equal(15, grid.Length);
        Assert.Equal(-1.644853627, grid[0], tolerance);
        Assert.Equal(1.644853627, grid[14], tolerance);
        Assert.Equal(NormalQuantile.Inverse(0.05 + 0.9 * 3 / 14), grid[3], 12); // linspace(0.05, 0.95, 15)[3]
        Assert.True(grid.Zip(grid.Skip(1)).All(p => p.First < p.Second));
    }

    [Fact]
    public void PcaFindsTheDominantDirection()
    {
        // Points along (3, 4)/5 with small noise in 3-D: the first component's projection is the position on the line.
        var random = new Random(5);
        const int n = 200;
        var data = new float[n * 3]; var t = new double[n];
        for (int i = 0; i < n; i++)
        {
            t[i] = random.NextDouble() * 10 - 5;
            data[3 * i] = (float)(0.6 * t[i] + 0.01 * random.NextDouble());
            data[3 * i + 1] = (float)(0.8 * t[i] + 0.01 * random.NextDouble());
            data[3 * i + 2] = (float)(0.01 * random.NextDouble());
        }
        var (xs, _, _, _) = LatentAnalysis.Pca2(data, n, 3);
        double meanT = t.Average();
        // The noise (≤ 0.01 per coordinate) moves a projection by at most ~0.02.
        for (int i = 0; i < n; i++) Assert.Equal(t[i] - meanT, xs[i], 0.03);
    }

    [Fact]
    public void KnnAccuracyIsOneForSeparatedClustersAndLowForShuffledLabels()
    {
        var random = new Random(6);
        const int n = 300;
        var data = new float[n * 2]; var labels = new byte[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = (byte)(i % 3);
            data[2 * i] = labels[i] * 10 + (float)random.NextDouble();
            data[2 * i + 1] = (float)random.NextDouble();
        }
        Assert.Equal(1.0, LatentAnalysis.KnnAccuracy(data, labels, n, 2));
        var shuffled = labels.OrderBy(_ => random.Next()).ToArray();
        Assert.InRange(LatentAnalysis.KnnAccuracy(data, shuffled, n, 2), 0, 0.6);
    }

    /// <summary>The vectorised 5-NN against the plain loop it replaced, on points with many exact ties (coordinates on a
    /// coarse grid) and a count that is no multiple of the vector width: the same neighbours, so the same accuracy.</summary>
    [Theory, InlineData(2, 301), InlineData(8, 517), InlineData(32, 203)]
    public void KnnAccuracyEqualsThePointByPointReference(int dims, int n)
    {
        var random = new Random(dims * 1000 + n);
        var data = Enumerable.Range(0, n * dims).Select(_ => random.Next(-3, 4) * 0.37f).ToArray();
        var labels = Enumerable.Range(0, n).Select(_ => (byte)random.Next(10)).ToArray();
        int correct = 0;
        for (int i = 0; i < n; i++)
        {
            var best = new (double Distance, byte Label)[5];
            Array.Fill(best, (double.MaxValue, (byte)0));
            for (int j = 0; j < n; j++)
            {
                if (j == i) continue;
                double dist = 0;
                for (int d = 0; d < dims; d++) { double diff = data[i * dims + d] - data[j * dims + d]; dist += diff * diff; }
                if (dist >= best[4].Distance) continue;
                int at = 4;
                while (at > 0 && best[at - 1].Distance > dist) { best[at] = best[at - 1]; at--; }
                best[at] = (dist, labels[j]);
            }
            var votes = new int[256];
            foreach (var (_, label) in best) votes[label]++;
            byte predicted = best[0].Label;
            foreach (var (_, label) in best) if (votes[label] > votes[predicted]) predicted = label;
            if (predicted == labels[i]) correct++;
        }
        Assert.Equal((double)correct / n, LatentAnalysis.KnnAccuracy(data, labels, n, dims));
    }
}
