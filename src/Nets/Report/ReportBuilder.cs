using System.Globalization;
using System.Text.Json;
using GpuAe.Kernels;
using GpuAe.Nets.Checkpoints;
using GpuAe.Nets.Data;
using GpuAe.Nets.Model;
using GpuAe.Nets.Training;

namespace GpuAe.Nets.Report;

public sealed record ReportOptions(int AeEpochs = 10, int VaeEpochs = 50, int Batch = 128, ulong Seed = 42, string OutputFolder = "reports",
    IReadOnlyList<string>? FromRuns = null, int IwaeK = 100, int ManifoldN = 15, double ManifoldLow = 0.05, double ManifoldHigh = 0.95,
    string CommandLine = "gpuae report", IReadOnlyList<string>? Models = null, IReadOnlyList<float>? Betas = null, int? BetaEpochs = null)
{
    /// <summary>The models the report trains and compares: always the notebook's AE and VAE, optionally the conv ones.</summary>
    public IReadOnlyList<string> ModelKinds => Models is { Count: > 0 } m ? m : ["ae", "vae"];
    public IReadOnlyList<float> BetaValues => Betas ?? [];
    /// <summary>Epochs of each β-sweep VAE: --beta-epochs, else the VAE's budget.</summary>
    public int SweepEpochs => BetaEpochs ?? VaeEpochs;
}

/// <summary>One model's numbers on the test set, as the report's table shows them. Beta: the KL weight a VAE was trained
/// with (null for the AEs).</summary>
public sealed record ModelResult(string Kind, string Name, int Epochs, double SecondsPerEpoch, EvalMetrics Test, double Psnr, double Ssim,
    double? Iwae, double KnnAccuracy, IReadOnlyList<EpochMetrics> History, float? Beta = null);

/// <summary>What a finished report says, for the CLI and the tests: the notebook's AE and VAE, the other models asked
/// for (conv-ae, conv-vae) and the β sweep's VAEs.</summary>
public sealed record ReportSummary(ModelResult Ae, ModelResult Vae, IReadOnlyList<ModelResult> Others, IReadOnlyList<ModelResult> BetaSweep,
    double AePcaKnnAccuracy, string Device, IReadOnlyList<string> Files)
{
    public IEnumerable<ModelResult> Compared => new[] { Ae, Vae }.Concat(Others);
}

/// <summary>`gpuae report`: trains (or loads) the models, evaluates them on the test set, draws every figure and
/// writes metrics.csv, metrics.json and REPORT.md.</summary>
public static class ReportBuilder
{
    public const string ReconstructionsPng = "reconstructions.png", LatentScatterPng = "latent_scatter.png",
        ManifoldPng = "latent_manifold.png", PriorSamplesPng = "prior_samples.png", InterpolationPng = "interpolation.png",
        AePcaPng = "ae_latent_pca.png", LossCurvesPng = "loss_curves.png", RateDistortionPng = "rate_distortion.png", BetaLatentsPng = "beta_latents.png";
    public static readonly string[] FigureFiles = [ReconstructionsPng, LatentScatterPng, ManifoldPng, PriorSamplesPng, InterpolationPng, AePcaPng, LossCurvesPng];
    public static readonly string[] SweepFigureFiles = [RateDistortionPng, BetaLatentsPng];

    /// <summary>The table's name of each model kind.</summary>
    public static string NameOf(string kind) => kind switch
    {
        "ae" => "AE (32-D code)", "vae" => "VAE (2-D latent)", "conv-ae" => "conv-AE (32-D code)", "conv-vae" => "conv-VAE (2-D latent)", _ => kind,
    };

    /// <summary>"AE", "VAE", "conv-AE", "conv-VAE": row labels and legends.</summary>
    public static string ShortNameOf(string kind) => NameOf(kind).Split(' ')[0];

    public static void Validate(ReportOptions o)
    {
        if (o.AeEpochs < 1) throw new UserError($"--ae-epochs must be at least 1 (got {o.AeEpochs})");
        if (o.VaeEpochs < 1) throw new UserError($"--vae-epochs must be at least 1 (got {o.VaeEpochs})");
        if (o.SweepEpochs < 1) throw new UserError($"--beta-epochs must be at least 1 (got {o.SweepEpochs})");
        if (o.IwaeK < 1) throw new UserError($"--iwae-k must be at least 1 (got {o.IwaeK})");
        if (o.ManifoldN < 2) throw new UserError($"--manifold-n must be at least 2 (got {o.ManifoldN})");
        if (!(o.ManifoldLow > 0 && o.ManifoldLow < o.ManifoldHigh && o.ManifoldHigh < 1))
            throw new UserError($"--manifold-p must be two probabilities 0 < low < high < 1 (got {o.ManifoldLow}, {o.ManifoldHigh})");
        foreach (var kind in o.ModelKinds)
            if (!ModelSpec.Kinds.Contains(kind)) throw new UserError($"--models: unknown model '{kind}': use {string.Join(", ", ModelSpec.Kinds)}");
        if (!o.ModelKinds.Contains("ae") || !o.ModelKinds.Contains("vae"))
            throw new UserError("--models must include ae and vae (the report compares everything with the notebook's two models)");
        if (o.ModelKinds.Distinct().Count() != o.ModelKinds.Count) throw new UserError("--models lists a model twice");
        foreach (var beta in o.BetaValues)
            if (!(beta > 0 && float.IsFinite(beta))) throw new UserError($"--betas must be positive numbers (got {beta})");
    }

    /// <summary>A model and what the report computed from it on the test set.</summary>
    sealed record Evaluated(IModel Model, ModelResult Result, float[] Reconstructions, float[] Latents);

    public static ReportSummary Build(IBackend backend, Dataset train, Dataset test, ReportOptions o, TextWriter log)
    {
        Validate(o);
        string output = TrainingSession.PrepareOutput(o.OutputFolder);
        var trained = o.ModelKinds.Select(kind => (Kind: kind, Run: Obtain(backend, new ModelSpec(kind), kind, o, train, test, log))).ToList();
        var sweep = o.BetaValues.Select(beta => (Beta: beta, Run: Obtain(backend, new ModelSpec("vae", Beta: beta),
            $"vae-beta-{beta.ToString("0.###", CultureInfo.InvariantCulture)}", o, train, test, log))).ToList();
        foreach (var (kind, run) in trained.Concat(sweep.Select(b => (Kind: "vae", b.Run))))
            if (run.Model is VariationalAutoencoder { Latent: not 2 })
                throw new UserError($"the report's latent figures need 2-D latents; the {kind} run has {run.Model.LatentSize}");

        log.WriteLine("gpuae: evaluating on the test set");
        var testImages = DeviceImages.Upload(backend, test);
        Evaluated Evaluate(string kind, IModel model, List<EpochMetrics> history, float? sweepBeta)
        {
            var reconstructions = Inference.Reconstruct(backend, model, test.Pixels, test.Count);
            var latents = Inference.Encode(backend, model, test.Pixels, test.Count);
            double? iwae = null;
            if (model is VariationalAutoencoder && sweepBeta is null)
            {
                log.WriteLine($"gpuae: {kind}: IWAE bound with k={o.IwaeK}");
                iwae = new Evaluator(backend, model, testImages, model.MaxRows).ImportanceWeightedBound(o.IwaeK);
            }
            string name = sweepBeta is float b ? $"VAE, β = {b.ToString("0.###", CultureInfo.InvariantCulture)}" : NameOf(kind);
            return new Evaluated(model, Score(kind, name, model, history, reconstructions, latents, iwae, backend, testImages, test), reconstructions, latents);
        }
        var models = trained.Select(t => Evaluate(t.Kind, t.Run.Model, t.Run.History, null)).ToList();
        var betaModels = sweep.Select(b => Evaluate("vae", b.Run.Model, b.Run.History, b.Beta)).ToList();
        var ae = models.Single(m => m.Result.Kind == "ae"); var vae = models.Single(m => m.Result.Kind == "vae");
        var (pcaX, pcaY) = LatentAnalysis.Pca2(ae.Latents, test.Count, ae.Model.LatentSize);
        double pcaKnn = LatentAnalysis.KnnAccuracy(Interleave(pcaX, pcaY), test.Labels, test.Count, 2);

        log.WriteLine("gpuae: drawing figures");
        var others = models.Where(m => m != ae && m != vae).ToList();
        DrawFigures(backend, ae, vae, others, test, pcaX, pcaY, o, output);
        if (betaModels.Count > 0) DrawSweepFigures(betaModels, test, output);
        var summary = new ReportSummary(ae.Result, vae.Result, [.. others.Select(m => m.Result)], [.. betaModels.Select(m => m.Result)], pcaKnn,
            backend.DeviceName, [.. FigureFiles, .. betaModels.Count > 0 ? SweepFigureFiles : [], "metrics.csv", "metrics.json", "REPORT.md"]);
        WriteMetrics(output, summary);
        File.WriteAllText(Path.Combine(output, "REPORT.md"), ReportText.Write(summary, o, train.Count, test.Count));
        log.WriteLine($"gpuae: wrote {string.Join(", ", summary.Files)} to {output}");
        return summary;
    }

    /// <summary>Trains the model into OUT/runs/RUN, or loads a run given with --from-runs: the first of that kind for the
    /// compared models, a VAE run trained with the same β for the sweep (trained when none is given).</summary>
    static (IModel Model, List<EpochMetrics> History) Obtain(IBackend backend, ModelSpec spec, string run, ReportOptions o, Dataset train, Dataset test, TextWriter log)
    {
        bool sweep = run != spec.Kind;
        if (o.FromRuns is { Count: > 0 } runs)
        {
            foreach (var folder in runs)
            {
                string checkpoint = Path.Combine(folder, Checkpoint.FileName);
                if (!File.Exists(checkpoint)) throw new UserError($"--from-runs: no {Checkpoint.FileName} in {folder}");
                var metadata = SafeTensors.Read(checkpoint).Metadata;
                if (metadata.GetValueOrDefault("model") != spec.Kind) continue;
                if (sweep && metadata.GetValueOrDefault("beta") != spec.Beta.ToString("R", CultureInfo.InvariantCulture)) continue;
                log.WriteLine($"gpuae: using the {spec.Kind} run in {folder}");
                return (Models.Load(backend, checkpoint, o.Batch).Model, MetricsCsv.Read(Path.Combine(folder, "metrics.csv")));
            }
            if (!sweep)
                throw new UserError($"--from-runs: none of {string.Join(", ", runs)} holds a '{spec.Kind}' model; pass one run per model of --models");
        }
        int epochs = sweep ? o.SweepEpochs : spec.IsVae ? o.VaeEpochs : o.AeEpochs;
        var options = new TrainOptions(epochs, o.Batch, 1e-3f, o.Seed);
        return TrainingSession.Run(backend, spec, options, train, test, Path.Combine(o.OutputFolder, "runs", run), log);
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
        float? beta = model is VariationalAutoencoder vae ? vae.Beta : null; // the β it was trained with, also for runs given with --from-runs
        return new ModelResult(kind, name, history.Count, seconds, metrics, psnr / n, ssim / n, iwae, knn, history, beta);
    }

    static double[] Column(float[] pairs, int column, int count) => Enumerable.Range(0, count).Select(i => (double)pairs[2 * i + column]).ToArray();

    static void DrawFigures(IBackend backend, Evaluated aeRun, Evaluated vaeRun, IReadOnlyList<Evaluated> others, Dataset test,
        double[] pcaX, double[] pcaY, ReportOptions o, string output)
    {
        int f = test.Features;
        IModel ae = aeRun.Model, vae = vaeRun.Model;
        float[] aeCodes = aeRun.Latents, vaeMu = vaeRun.Latents;
        float[] Row(float[] data, int i, int width) => data.AsSpan(i * width, width).ToArray();
        var classes = FashionMnist.ClassNames;
        int FirstOf(int c) => Array.IndexOf(test.Labels, (byte)c);

        // Reconstructions: the first test image of each class; rows original, then each model (VAEs decode z = μ).
        var examples = Enumerable.Range(0, classes.Length).Select(FirstOf).ToArray();
        var reconstructed = new[] { aeRun, vaeRun }.Concat(others).ToList();
        var grid = examples.Select(i => Row(test.Pixels, i, f))
            .Concat(reconstructed.SelectMany(m => examples.Select(i => Row(m.Reconstructions, i, f)))).ToList();
        string[] rowNames = ["original", .. reconstructed.Select(m => ShortNameOf(m.Result.Kind))];
        Figures.LabelledGrid(Path.Combine(output, ReconstructionsPng), grid, rowNames, classes,
            "Test images and their reconstructions (VAEs: z = μ)");

        // The VAE's μ of every test image.
        Figures.LatentScatter(Path.Combine(output, LatentScatterPng), Column(vaeMu, 0, test.Count), Column(vaeMu, 1, test.Count), test.Labels,
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

        // The AE's 32-D codes by PCA next to the VAE's μ (and the conv-VAE's, when it was trained).
        var panels = new List<Figures.ScatterPanel>
        {
            new(pcaX, pcaY, $"AE: 32-D codes, first two principal components (5-NN accuracy {aeRun.Result.KnnAccuracy:P1} in 32-D)", "PC 1", "PC 2"),
            new(Column(vaeMu, 0, test.Count), Column(vaeMu, 1, test.Count), $"VAE: 2-D μ (5-NN accuracy {vaeRun.Result.KnnAccuracy:P1})", "μ₁", "μ₂"),
        };
        foreach (var m in others.Where(m => m.Model is VariationalAutoencoder))
            panels.Add(new(Column(m.Latents, 0, test.Count), Column(m.Latents, 1, test.Count),
                $"conv-VAE: 2-D μ (5-NN accuracy {m.Result.KnnAccuracy:P1})", "μ₁", "μ₂"));
        Figures.ScatterPanels(Path.Combine(output, AePcaPng), panels, test.Labels);

        Figures.LossCurves(Path.Combine(output, LossCurvesPng), [.. reconstructed.Select(m => (ShortNameOf(m.Result.Kind), (IReadOnlyList<EpochMetrics>)m.Result.History))]);
    }

    /// <summary>The β sweep: rate (KL) against distortion (BCE) per β, and the latent means of each β's VAE.</summary>
    static void DrawSweepFigures(IReadOnlyList<Evaluated> sweep, Dataset test, string output)
    {
        Figures.RateDistortion(Path.Combine(output, RateDistortionPng),
            [.. sweep.Select(m => (m.Result.Beta!.Value, m.Result.Test.Kl, m.Result.Test.Bce))]);
        Figures.ScatterPanels(Path.Combine(output, BetaLatentsPng),
            [.. sweep.Select(m => new Figures.ScatterPanel(Column(m.Latents, 0, test.Count), Column(m.Latents, 1, test.Count),
                $"{m.Result.Name}: KL {m.Result.Test.Kl:F2}, BCE {m.Result.Test.Bce:F1}", "μ₁", "μ₂"))], test.Labels);
    }

    static void WriteMetrics(string output, ReportSummary s)
    {
        string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        var lines = new List<string> { "model,beta,epochs,seconds_per_epoch,test_bce,test_mse,test_psnr_db,test_ssim,test_kl,test_loss,iwae_bound,knn5_accuracy,device" };
        foreach (var m in s.Compared.Concat(s.BetaSweep))
            lines.Add(string.Join(",", m.Kind, m.Beta is float beta ? F(beta) : "", m.Epochs, F(m.SecondsPerEpoch), F(m.Test.Bce), F(m.Test.Mse), F(m.Psnr), F(m.Ssim), F(m.Test.Kl), F(m.Test.Loss),
                m.Iwae is double iwae ? F(iwae) : "", F(m.KnnAccuracy), $"\"{s.Device}\""));
        File.WriteAllLines(Path.Combine(output, "metrics.csv"), lines);
        var json = new
        {
            device = s.Device,
            ae_pca2_knn5_accuracy = s.AePcaKnnAccuracy,
            models = s.Compared.Concat(s.BetaSweep).Select(m => new
            {
                model = m.Kind, beta = m.Beta, epochs = m.Epochs, seconds_per_epoch = m.SecondsPerEpoch, test_bce = m.Test.Bce, test_mse = m.Test.Mse,
                test_psnr_db = m.Psnr, test_ssim = m.Ssim, test_kl = m.Test.Kl, test_loss = m.Test.Loss, iwae_bound = m.Iwae, knn5_accuracy = m.KnnAccuracy,
            }),
        };
        File.WriteAllText(Path.Combine(output, "metrics.json"), JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }
}
