using System.Globalization;
using System.Text.Json;
using GpuAe.Kernels;

namespace GpuAe.Nets.Report;

public sealed record ReportOptions(int AeEpochs = 10, int VaeEpochs = 50, int Batch = 128, ulong Seed = 42, string OutputFolder = "reports",
    IReadOnlyList<string>? FromRuns = null, int IwaeK = 100, int ManifoldN = 15, double ManifoldLow = 0.05, double ManifoldHigh = 0.95,
    string CommandLine = "gpuae report");

/// <summary>One model's numbers on the test set, as the report's table shows them.</summary>
public sealed record ModelResult(string Kind, string Name, int Epochs, double SecondsPerEpoch, EvalMetrics Test, double Psnr, double Ssim,
    double? Iwae, double KnnAccuracy, IReadOnlyList<EpochMetrics> History);

/// <summary>What a finished report says, for the CLI and the tests.</summary>
public sealed record ReportSummary(ModelResult Ae, ModelResult Vae, double AePcaKnnAccuracy, string Device, IReadOnlyList<string> Files);

/// <summary>`gpuae report`: trains (or loads) the AE and the VAE, evaluates both on the test set, draws every figure
/// and writes metrics.csv, metrics.json and REPORT.md.</summary>
public static class ReportBuilder
{
    public const string ReconstructionsPng = "reconstructions.png", LatentScatterPng = "latent_scatter.png",
        ManifoldPng = "latent_manifold.png", PriorSamplesPng = "prior_samples.png", InterpolationPng = "interpolation.png",
        AePcaPng = "ae_latent_pca.png", LossCurvesPng = "loss_curves.png";
    public static readonly string[] FigureFiles = [ReconstructionsPng, LatentScatterPng, ManifoldPng, PriorSamplesPng, InterpolationPng, AePcaPng, LossCurvesPng];

    public static void Validate(ReportOptions o)
    {
        if (o.AeEpochs < 1) throw new UserError($"--ae-epochs must be at least 1 (got {o.AeEpochs})");
        if (o.VaeEpochs < 1) throw new UserError($"--vae-epochs must be at least 1 (got {o.VaeEpochs})");
        if (o.IwaeK < 1) throw new UserError($"--iwae-k must be at least 1 (got {o.IwaeK})");
        if (o.ManifoldN < 2) throw new UserError($"--manifold-n must be at least 2 (got {o.ManifoldN})");
        if (!(o.ManifoldLow > 0 && o.ManifoldLow < o.ManifoldHigh && o.ManifoldHigh < 1))
            throw new UserError($"--manifold-p must be two probabilities 0 < low < high < 1 (got {o.ManifoldLow}, {o.ManifoldHigh})");
    }

    public static ReportSummary Build(IBackend backend, Dataset train, Dataset test, ReportOptions o, TextWriter log)
    {
        Validate(o);
        string output = TrainingSession.PrepareOutput(o.OutputFolder);
        var (ae, aeHistory) = Obtain(backend, "ae", o, train, test, log);
        var (vae, vaeHistory) = Obtain(backend, "vae", o, train, test, log);
        if (vae is not VariationalAutoencoder variational || variational.Latent != 2)
            throw new UserError("the report's latent figures need a VAE with a 2-D latent (--latent 2)");

        log.WriteLine("gpuae: evaluating both models on the test set");
        var testImages = DeviceImages.Upload(backend, test);
        var aeRecon = Inference.Reconstruct(backend, ae, test.Pixels, test.Count);
        var vaeRecon = Inference.Reconstruct(backend, vae, test.Pixels, test.Count);
        var aeCodes = Inference.Encode(backend, ae, test.Pixels, test.Count);
        var vaeMu = Inference.Encode(backend, vae, test.Pixels, test.Count);
        log.WriteLine($"gpuae: IWAE bound with k={o.IwaeK}");
        double iwae = new Evaluator(backend, vae, testImages, vae.MaxRows).ImportanceWeightedBound(o.IwaeK, o.Seed);
        var aeResult = Score("ae", "AE (32-D code)", ae, aeHistory, aeRecon, aeCodes, null, backend, testImages, test);
        var vaeResult = Score("vae", "VAE (2-D latent)", vae, vaeHistory, vaeRecon, vaeMu, iwae, backend, testImages, test);
        var (pcaX, pcaY) = LatentAnalysis.Pca2(aeCodes, test.Count, ae.LatentSize);
        double pcaKnn = LatentAnalysis.KnnAccuracy(Interleave(pcaX, pcaY), test.Labels, test.Count, 2);

        log.WriteLine("gpuae: drawing figures");
        DrawFigures(backend, ae, vae, test, aeRecon, vaeRecon, aeCodes, vaeMu, pcaX, pcaY, aeResult, vaeResult, o, output);
        var summary = new ReportSummary(aeResult, vaeResult, pcaKnn, backend.DeviceName,
            [.. FigureFiles, "metrics.csv", "metrics.json", "REPORT.md"]);
        WriteMetrics(output, summary);
        File.WriteAllText(Path.Combine(output, "REPORT.md"), ReportText.Write(summary, o, train.Count, test.Count));
        log.WriteLine($"gpuae: wrote {string.Join(", ", summary.Files)} to {output}");
        return summary;
    }

    /// <summary>Trains the model into OUT/runs/KIND, or loads the run of that kind given with --from-runs.</summary>
    static (IModel Model, List<EpochMetrics> History) Obtain(IBackend backend, string kind, ReportOptions o, Dataset train, Dataset test, TextWriter log)
    {
        if (o.FromRuns is { Count: > 0 } runs)
        {
            foreach (var run in runs)
            {
                string checkpoint = Path.Combine(run, Checkpoint.FileName);
                if (!File.Exists(checkpoint)) throw new UserError($"--from-runs: no {Checkpoint.FileName} in {run}");
                if (SafeTensors.Read(checkpoint).Metadata.GetValueOrDefault("model") != kind) continue;
                log.WriteLine($"gpuae: using the {kind} run in {run}");
                return (Models.Load(backend, checkpoint, o.Batch).Model, MetricsCsv.Read(Path.Combine(run, "metrics.csv")));
            }
            throw new UserError($"--from-runs: none of {string.Join(", ", runs)} holds a '{kind}' model; pass one AE run and one VAE run");
        }
        var spec = new ModelSpec(kind);
        var options = new TrainOptions(kind == "ae" ? o.AeEpochs : o.VaeEpochs, o.Batch, 1e-3f, o.Seed);
        return TrainingSession.Run(backend, spec, options, train, test, Path.Combine(o.OutputFolder, "runs", kind), log);
    }

    static float[] Interleave(double[] xs, double[] ys) => xs.SelectMany((x, i) => new[] { (float)x, (float)ys[i] }).ToArray();

    static ModelResult Score(string kind, string name, IModel model, List<EpochMetrics> history, float[] recon, float[] latents, double? iwae,
        IBackend backend, DeviceImages testImages, Dataset test)
    {
        var metrics = new Evaluator(backend, model, testImages, model.MaxRows).Run();
        int n = test.Count, f = test.Features;
        double psnr = 0, ssim = 0;
        var perImage = new (double Psnr, double Ssim)[n];
        Parallel.For(0, n, i =>
        {
            var original = test.Pixels.AsSpan(i * f, f);
            var reconstruction = recon.AsSpan(i * f, f);
            perImage[i] = (ImageMetrics.Psnr(original, reconstruction), ImageMetrics.Ssim(original, reconstruction, Figures.Side, Figures.Side));
        });
        foreach (var (p, s) in perImage) { psnr += p; ssim += s; }
        double knn = LatentAnalysis.KnnAccuracy(latents, test.Labels, n, model.LatentSize);
        double seconds = history.Count == 0 ? 0 : history.Average(e => e.Seconds);
        return new ModelResult(kind, name, history.Count, seconds, metrics, psnr / n, ssim / n, iwae, knn, history);
    }

    static void DrawFigures(IBackend backend, IModel ae, IModel vae, Dataset test, float[] aeRecon, float[] vaeRecon, float[] aeCodes, float[] vaeMu,
        double[] pcaX, double[] pcaY, ModelResult aeResult, ModelResult vaeResult, ReportOptions o, string output)
    {
        int f = test.Features;
        float[] Row(float[] data, int i, int width) => data.AsSpan(i * width, width).ToArray();
        var classes = FashionMnist.ClassNames;
        int FirstOf(int c) => Array.IndexOf(test.Labels, (byte)c);

        // Reconstructions: the first test image of each class; rows original / AE / VAE.
        var examples = Enumerable.Range(0, classes.Length).Select(FirstOf).ToArray();
        var grid = examples.Select(i => Row(test.Pixels, i, f))
            .Concat(examples.Select(i => Row(aeRecon, i, f)))
            .Concat(examples.Select(i => Row(vaeRecon, i, f))).ToList();
        Figures.LabelledGrid(Path.Combine(output, ReconstructionsPng), grid, ["original", "AE", "VAE (z = μ)"], classes,
            "Test images and their reconstructions");

        // The VAE's μ of every test image.
        Figures.LatentScatter(Path.Combine(output, LatentScatterPng),
            Enumerable.Range(0, test.Count).Select(i => (double)vaeMu[2 * i]).ToArray(),
            Enumerable.Range(0, test.Count).Select(i => (double)vaeMu[2 * i + 1]).ToArray(), test.Labels,
            $"VAE latent means of the {test.Count:N0} test images");

        // The manifold: z₁ along columns, z₂ along rows with the top row the largest z₂.
        var quantiles = NormalQuantile.Grid(o.ManifoldN, o.ManifoldLow, o.ManifoldHigh);
        int n = o.ManifoldN;
        var grid2 = new float[n * n * 2];
        for (int r = 0; r < n; r++)
            for (int c = 0; c < n; c++)
            {
                grid2[2 * (r * n + c)] = (float)quantiles[c];
                grid2[2 * (r * n + c) + 1] = (float)quantiles[n - 1 - r];
            }
        var manifold = Inference.Decode(backend, vae, grid2, n * n);
        Figures.Manifold(Path.Combine(output, ManifoldPng), Enumerable.Range(0, n * n).Select(i => Row(manifold, i, f)).ToList(),
            quantiles, quantiles, $"VAE decoder on a {n}×{n} grid of normal quantiles (p = {o.ManifoldLow:0.00}…{o.ManifoldHigh:0.00})");

        // Samples from the prior, drawn with the same counter-based generator as the training noise.
        const int priorSide = 8;
        var prior = Enumerable.Range(0, priorSide * priorSide * 2).Select(i => Sampling.Normal(o.Seed, 0x5052_494F_0000_0000UL, (ulong)i)).ToArray();
        var priorImages = Inference.Decode(backend, vae, prior, priorSide * priorSide);
        Figures.LabelledGrid(Path.Combine(output, PriorSamplesPng), Enumerable.Range(0, priorSide * priorSide).Select(i => Row(priorImages, i, f)).ToList(),
            Enumerable.Repeat("", priorSide).ToArray(), null, "VAE: decoded samples z ~ N(0, I)");

        // Straight lines in latent space between test images of different classes, for both models.
        (int From, int To)[] pairs = [(1, 2), (7, 8), (0, 9)];
        const int steps = 10;
        var rows = new List<float[]>();
        var labels = new List<string>();
        foreach (var (model, codes, name) in new[] { (ae, aeCodes, "AE"), (vae, vaeMu, "VAE") })
            foreach (var (from, to) in pairs)
            {
                int d = model.LatentSize, a = FirstOf(from), b = FirstOf(to);
                var line = new float[steps * d];
                for (int s = 0; s < steps; s++)
                {
                    float t = s / (float)(steps - 1);
                    for (int j = 0; j < d; j++) line[s * d + j] = (1 - t) * codes[a * d + j] + t * codes[b * d + j];
                }
                var decoded = Inference.Decode(backend, model, line, steps);
                rows.AddRange(Enumerable.Range(0, steps).Select(s => Row(decoded, s, f)));
                labels.Add($"{name}: {classes[from]} → {classes[to]}");
            }
        Figures.LabelledGrid(Path.Combine(output, InterpolationPng), rows, labels.ToArray(),
            Enumerable.Range(0, steps).Select(s => (s / (double)(steps - 1)).ToString("0.00", CultureInfo.InvariantCulture)).ToArray(),
            "Straight lines between two test images in latent space (AE: code, VAE: μ)");

        // The AE's 32-D codes by PCA next to the VAE's μ.
        Figures.SideBySideScatter(Path.Combine(output, AePcaPng),
            (pcaX, pcaY, $"AE: 32-D codes, first two principal components (5-NN accuracy {aeResult.KnnAccuracy:P1} in 32-D)", "PC 1", "PC 2"),
            (Enumerable.Range(0, test.Count).Select(i => (double)vaeMu[2 * i]).ToArray(),
             Enumerable.Range(0, test.Count).Select(i => (double)vaeMu[2 * i + 1]).ToArray(),
             $"VAE: 2-D μ (5-NN accuracy {vaeResult.KnnAccuracy:P1})", "μ₁", "μ₂"), test.Labels);

        Figures.LossCurves(Path.Combine(output, LossCurvesPng), [("AE", aeResult.History), ("VAE", vaeResult.History)]);
    }

    static void WriteMetrics(string output, ReportSummary s)
    {
        string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        var lines = new List<string> { "model,epochs,seconds_per_epoch,test_bce,test_mse,test_psnr_db,test_ssim,test_kl,test_loss,iwae_bound,knn5_accuracy,device" };
        foreach (var m in new[] { s.Ae, s.Vae })
            lines.Add(string.Join(",", m.Kind, m.Epochs, F(m.SecondsPerEpoch), F(m.Test.Bce), F(m.Test.Mse), F(m.Psnr), F(m.Ssim), F(m.Test.Kl), F(m.Test.Loss),
                m.Iwae is double iwae ? F(iwae) : "", F(m.KnnAccuracy), $"\"{s.Device}\""));
        File.WriteAllLines(Path.Combine(output, "metrics.csv"), lines);
        var json = new
        {
            device = s.Device,
            ae_pca2_knn5_accuracy = s.AePcaKnnAccuracy,
            models = new[] { s.Ae, s.Vae }.Select(m => new
            {
                model = m.Kind, epochs = m.Epochs, seconds_per_epoch = m.SecondsPerEpoch, test_bce = m.Test.Bce, test_mse = m.Test.Mse,
                test_psnr_db = m.Psnr, test_ssim = m.Ssim, test_kl = m.Test.Kl, test_loss = m.Test.Loss, iwae_bound = m.Iwae, knn5_accuracy = m.KnnAccuracy,
            }),
        };
        File.WriteAllText(Path.Combine(output, "metrics.json"), JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }
}
