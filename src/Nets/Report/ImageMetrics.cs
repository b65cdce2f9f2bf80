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
}
