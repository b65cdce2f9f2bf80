using GpuAe.Nets;
using GpuAe.Nets.Report;
using GpuAe.Tests.Nets;
using SkiaSharp;
using Xunit;

namespace GpuAe.Tests.Report;

/// <summary>`gpuae report` end to end on a small subset: every file is there, every PNG decodes, has the layout's size
/// and is not blank.</summary>
public class ReportTests : TempFolderTest
{
    [Fact]
    public void OneEpochReportOnASubsetWritesEveryFile()
    {
        var options = new ReportOptions(AeEpochs: 1, VaeEpochs: 1, Batch: 128, Seed: 1, OutputFolder: Folder, IwaeK: 3, ManifoldN: 5,
            CommandLine: "test");
        var log = new StringWriter();
        var summary = ReportBuilder.Build(Cpu.Backend, RealData.Train.Take(1024), RealData.Test.Take(1000), options, log);

        foreach (var file in summary.Files) Assert.True(File.Exists(Path.Combine(Folder, file)), $"{file} missing");
        // Sizes follow the layouts: tiles of 64 px plus margins (reconstructions: 10 columns × 3 rows; manifold: n×n of 56 px).
        AssertPng(ReportBuilder.ReconstructionsPng, 10 * 64 + 220, 3 * 64 + 140);
        AssertPng(ReportBuilder.ManifoldPng, 5 * 56 + 200, 5 * 56 + 160);
        AssertPng(ReportBuilder.PriorSamplesPng, 8 * 64 + 220, 8 * 64 + 140);
        AssertPng(ReportBuilder.InterpolationPng, 10 * 64 + 220, 6 * 64 + 140);
        AssertPng(ReportBuilder.LatentScatterPng, 1000, 800);
        AssertPng(ReportBuilder.AePcaPng, 1800, 800);
        AssertPng(ReportBuilder.LossCurvesPng, 1000, 650);

        var metrics = File.ReadAllLines(Path.Combine(Folder, "metrics.csv"));
        Assert.Equal(3, metrics.Length);
        Assert.StartsWith("model,epochs,seconds_per_epoch,test_bce,test_mse,test_psnr_db,test_ssim,test_kl", metrics[0]);
        var report = File.ReadAllText(Path.Combine(Folder, "REPORT.md"));
        foreach (var figure in ReportBuilder.FigureFiles) Assert.Contains($"({figure})", report);
        Assert.Contains(summary.Ae.Test.Mse.ToString("F5", System.Globalization.CultureInfo.InvariantCulture), report);
        Assert.True(File.Exists(Path.Combine(Folder, "runs", "vae", Checkpoint.FileName)));
        Assert.Equal(0, summary.Ae.Test.Kl);
        Assert.True(summary.Vae.Test.Kl > 0);
        Assert.NotNull(summary.Vae.Iwae);
    }

    void AssertPng(string name, int width, int height)
    {
        using var bitmap = SKBitmap.Decode(Path.Combine(Folder, name));
        Assert.NotNull(bitmap);
        Assert.Equal((width, height), (bitmap.Width, bitmap.Height));
        // Not blank: many distinct colours and a real spread of brightness.
        var pixels = bitmap.Pixels;
        Assert.True(pixels.Distinct().Count() > 20, $"{name} has too few colours");
        var brightness = pixels.Select(p => (p.Red + p.Green + p.Blue) / 3.0).ToArray();
        double mean = brightness.Average();
        Assert.True(Math.Sqrt(brightness.Average(b => (b - mean) * (b - mean))) > 10, $"{name} is nearly uniform");
    }
}
