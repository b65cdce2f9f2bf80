namespace GpuAe.Nets.Report;

/// <summary>Per-image reconstruction metrics for images with pixel values in [0, 1].</summary>
public static class ImageMetrics
{
    /// <summary>Stabilisers of SSIM for a data range of 1 (Wang et al., 2004): C1 = (0.01)², C2 = (0.03)².</summary>
    public const double C1 = 0.0001, C2 = 0.0009;
    public const int SsimWindow = 7;
    /// <summary>PSNR of a perfect reconstruction would be infinite; it is capped here so means stay finite.</summary>
    public const double MaxPsnr = 100;

    public static double Mse(ReadOnlySpan<float> original, ReadOnlySpan<float> reconstruction)
    {
        double sum = 0;
        for (int i = 0; i < original.Length; i++) { double d = original[i] - reconstruction[i]; sum += d * d; }
        return sum / original.Length;
    }

    /// <summary>10·log₁₀(1 / MSE) in dB, the peak value being 1.</summary>
    public static double Psnr(ReadOnlySpan<float> original, ReadOnlySpan<float> reconstruction)
    {
        double mse = Mse(original, reconstruction);
        return mse <= 1e-10 ? MaxPsnr : Math.Min(MaxPsnr, 10 * Math.Log10(1 / mse));
    }

    /// <summary>
    /// Mean SSIM over every position of a 7×7 uniform window that fits inside the image (22×22 positions on 28×28,
    /// no padding), with population statistics inside each window:
    /// SSIM = (2μxμy + C1)(2σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2)).
    /// </summary>
    public static double Ssim(ReadOnlySpan<float> x, ReadOnlySpan<float> y, int width, int height)
    {
        const int w = SsimWindow, n = w * w;
        double total = 0;
        int windows = 0;
        for (int top = 0; top + w <= height; top++)
            for (int left = 0; left + w <= width; left++)
            {
                double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
                for (int r = top; r < top + w; r++)
                    for (int c = left; c < left + w; c++)
                    {
                        double a = x[r * width + c], b = y[r * width + c];
                        sx += a; sy += b; sxx += a * a; syy += b * b; sxy += a * b;
                    }
                double mx = sx / n, my = sy / n;
                double vx = sxx / n - mx * mx, vy = syy / n - my * my, cxy = sxy / n - mx * my;
                total += (2 * mx * my + C1) * (2 * cxy + C2) / ((mx * mx + my * my + C1) * (vx + vy + C2));
                windows++;
            }
        return total / windows;
    }

    /// <summary>Sharpness: the variance of the image's Laplacian (4-neighbour, x[u−1,v] + x[u+1,v] + x[u,v−1] + x[u,v+1] −
    /// 4x[u,v]) over the pixels whose four neighbours exist, the usual "variance of the Laplacian" blur measure. A blurred
    /// image has small second differences everywhere; an empty one has none. Noise raises it too, so it is read beside the
    /// test images' own value, not as "higher is better".</summary>
    public static double Sharpness(ReadOnlySpan<float> image, int width, int height)
    {
        double sum = 0, squares = 0;
        int count = 0;
        for (int v = 1; v < height - 1; v++)
            for (int u = 1; u < width - 1; u++)
            {
                int i = v * width + u;
                double laplacian = image[i - 1] + image[i + 1] + image[i - width] + image[i + width] - 4.0 * image[i];
                sum += laplacian;
                squares += laplacian * laplacian;
                count++;
            }
        double mean = sum / count;
        return squares / count - mean * mean;
    }

    /// <summary>The mean <see cref="Sharpness"/> of images[n, width·height].</summary>
    public static double MeanSharpness(float[] images, int n, int width, int height)
    {
        int f = width * height;
        var each = new double[n];
        Parallel.For(0, n, i => each[i] = Sharpness(images.AsSpan(i * f, f), width, height));
        return each.Average();
    }
}
