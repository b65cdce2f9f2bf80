using GpuAe.Nets.Checkpoints;
using GpuAe.Nets.Model;
using GpuAe.Nets.Report;
using GpuAe.Nets;
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
        Assert.StartsWith("model,beta,epochs,seconds_per_epoch,test_bce,test_mse,test_psnr_db,test_ssim,test_kl", metrics[0]);
        var report = File.ReadAllText(Path.Combine(Folder, "REPORT.md"));
        foreach (var figure in ReportBuilder.FigureFiles) Assert.Contains($"({figure})", report);
        Assert.Contains(summary.Ae.Test.Mse.ToString("F5", System.Globalization.CultureInfo.InvariantCulture), report);
        Assert.True(File.Exists(Path.Combine(Folder, "runs", "vae", Checkpoint.FileName)));
        Assert.Equal(0, summary.Ae.Test.Kl);
        Assert.True(summary.Vae.Test.Kl > 0);
        Assert.NotNull(summary.Vae.Iwae);
    }

    /// <summary>All four models and a two-β sweep on the SIMD backend (the conv models are slow on the CPU accelerator):
    /// one row per model and per β in metrics.csv, the sweep's figures and sections in REPORT.md.</summary>
    [Fact]
    public void ConvModelsAndABetaSweepJoinTheReport()
    {
        var options = new ReportOptions(AeEpochs: 1, VaeEpochs: 1, Batch: 128, Seed: 1, OutputFolder: Folder, IwaeK: 2, ManifoldN: 3,
            CommandLine: "test", Models: ["ae", "vae", "conv-ae", "conv-vae"], Betas: [0.5f, 4f], BetaEpochs: 2);
        var summary = ReportBuilder.Build(TestBackends.Get("simd512"), RealData.Train.Take(1024), RealData.Test.Take(500), options, new StringWriter());

        Assert.Equal(["conv-ae", "conv-vae"], summary.Others.Select(m => m.Kind));
        Assert.Equal([0.5f, 4f], summary.BetaSweep.Select(m => m.Beta!.Value));
        Assert.All(summary.BetaSweep, m => Assert.Equal(2, m.Epochs));
        Assert.True(summary.BetaSweep[1].Test.Kl < summary.BetaSweep[0].Test.Kl, "β = 4 should carry less KL than β = 0.5");
        AssertPng(ReportBuilder.ReconstructionsPng, 10 * 64 + 220, 5 * 64 + 140);
        AssertPng(ReportBuilder.AePcaPng, 3 * 900, 800);
        AssertPng(ReportBuilder.RateDistortionPng, 1000, 700);
        AssertPng(ReportBuilder.BetaLatentsPng, 2 * 900, 800);
        var metrics = File.ReadAllLines(Path.Combine(Folder, "metrics.csv"));
        Assert.Equal(["ae", "vae", "conv-ae", "conv-vae", "vae", "vae"], metrics[1..].Select(l => l.Split(',')[0]));
        Assert.Equal(["", "1", "", "1", "0.5", "4"], metrics[1..].Select(l => l.Split(',')[1]));
        var report = File.ReadAllText(Path.Combine(Folder, "REPORT.md"));
        Assert.Contains("| conv-AE (32-D code) |", report);
        Assert.Contains("| conv-VAE (2-D latent) |", report);
        Assert.Contains("## β sweep", report);
        foreach (var figure in ReportBuilder.SweepFigureFiles) Assert.Contains($"({figure})", report);
        Assert.Contains(summary.Others[0].Test.Mse.ToString("F4", System.Globalization.CultureInfo.InvariantCulture), report);
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
