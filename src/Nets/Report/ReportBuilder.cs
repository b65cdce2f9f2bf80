using System.Globalization;
using System.Text.Json;
using GpuAe.Kernels;
using GpuAe.Nets.Checkpoints;
using GpuAe.Nets.Data;
using GpuAe.Nets.Model;
using GpuAe.Nets.Training;

namespace GpuAe.Nets.Report;

/// <summary>What `gpuae report` trains and how. The defaults are the committed study (reports/REPORT.md): the notebook's AE
/// (32-D ReLU code, 10 epochs); AE (linear code, like the VAE's μ) and VAE at latent widths 2, 8 and 32, all with the
/// notebook VAE's budget of 50 epochs; a β sweep of the 2-D VAE; three seeds.</summary>
public sealed record ReportOptions(int NotebookAeEpochs = 10, int Epochs = 50, int Batch = 128, ulong Seed = 42, string OutputFolder = "study",
    IReadOnlyList<string>? FromRuns = null, int IwaeK = 100, int ManifoldN = 15, double ManifoldLow = 0.05, double ManifoldHigh = 0.95,
    string CommandLine = "gpuae report", IReadOnlyList<string>? Models = null, IReadOnlyList<float>? Betas = null, int? BetaEpochs = null,
    int Seeds = 3, IReadOnlyList<int>? Latents = null, string ClassifierFolder = "reports/classifier", int Samples = 10_000)
{
    public static readonly string[] DefaultModels = ["ae", "vae"];
    public static readonly float[] DefaultBetas = [0.5f, 1f, 2f, 4f];
    public static readonly int[] DefaultLatents = [2, 8, 32];

    /// <summary>The models the report trains and compares: always the notebook's AE and VAE, optionally the conv ones.</summary>
    public IReadOnlyList<string> ModelKinds => Models is { Count: > 0 } m ? m : DefaultModels;
    public IReadOnlyList<float> BetaValues => Betas ?? DefaultBetas;
    public IReadOnlyList<int> LatentSizes => Latents is { Count: > 0 } l ? l : DefaultLatents;
    /// <summary>Epochs of each β-sweep VAE: --beta-epochs, else the study's budget.</summary>
    public int SweepEpochs => BetaEpochs ?? Epochs;
    public IReadOnlyList<ulong> SeedValues => [.. Enumerable.Range(0, Seeds).Select(i => Seed + (ulong)i)];
    /// <summary>The widest latent of the study (32 by default).</summary>
    public int WideLatent => LatentSizes.Max();
    /// <summary>The notebook's AE: a 32-D ReLU code, trained for <see cref="NotebookAeEpochs"/>.</summary>
    public static readonly ConfigKey NotebookAe = new("ae", ModelSpec.DefaultAeCode, 1f, Activation.Relu);
}

/// <summary>What a finished report holds, for the CLI and the tests.</summary>
public sealed record ReportSummary(Study Study, ReportFigures Figures, Scorer Scorer, string Device, IReadOnlyList<string> Files);

/// <summary>Numbers measured on the first seed's models while drawing the figures.</summary>
public sealed record ReportFigures(double NotebookAePcaKnn, double NotebookAePcaExplained, double TestEmptyShare, double[] VaeMuSds, double[] VaeMuMean);

/// <summary>The classifier that scores generated images, its test accuracy, and the Fréchet distance of the training
/// images' features to the test images' (the floor: what two samples of real data score).</summary>
public sealed record Scorer(Classifier Classifier, Gaussian Test, double TestAccuracy, double TrainTestDistance, string Folder);

/// <summary>`gpuae report`: trains (or loads) every run of the study, evaluates each on the test set, draws the figures
/// from the first seed's runs and writes metrics.csv, metrics.json and REPORT.md.</summary>
public static class ReportBuilder
{
    public const string ReconstructionsPng = "reconstructions.png", LatentScatterPng = "latent_scatter.png",
        ManifoldPng = "latent_manifold.png", PriorSamplesPng = "prior_samples.png", InterpolationPng = "interpolation.png",
        AePcaPng = "ae_latent_pca.png", LossCurvesPng = "loss_curves.png", RateDistortionPng = "rate_distortion.png",
        BetaLatentsPng = "beta_latents.png", LatentSizesPng = "latent_sizes.png", GenerationPng = "generation_scores.png";
    public static readonly string[] FigureFiles = [ReconstructionsPng, LatentScatterPng, ManifoldPng, PriorSamplesPng, InterpolationPng, AePcaPng, LossCurvesPng, GenerationPng];
    public static readonly string[] SweepFigureFiles = [RateDistortionPng, BetaLatentsPng];
    /// <summary>The figure of the latent sizes, drawn when the study has more than one.</summary>
    public static readonly string[] LatentFigureFiles = [LatentSizesPng];

    /// <summary>The stream of the counter generator for the AE's samples (apart from training and evaluation noise, and the
    /// prior's: <see cref="Inference.PriorStream"/>).</summary>
    const ulong FittedStream = 0x4649_5454_0000_0000UL;

    public static void Validate(ReportOptions o)
    {
        if (o.NotebookAeEpochs < 1) throw new UserError($"--notebook-ae-epochs must be at least 1 (got {o.NotebookAeEpochs})");
        if (o.Epochs < 1) throw new UserError($"--epochs must be at least 1 (got {o.Epochs})");
        if (o.SweepEpochs < 1) throw new UserError($"--beta-epochs must be at least 1 (got {o.SweepEpochs})");
        if (o.IwaeK < 1) throw new UserError($"--iwae-k must be at least 1 (got {o.IwaeK})");
        if (o.Seeds < 1) throw new UserError($"--seeds must be at least 1 (got {o.Seeds})");
        if (o.Samples < 2 * Classifier.FeatureWidth)
            throw new UserError($"--samples must be at least {2 * Classifier.FeatureWidth} (got {o.Samples}): the Fréchet distance fits a {Classifier.FeatureWidth}-D covariance to them");
        if (o.ManifoldN < 2) throw new UserError($"--manifold-n must be at least 2 (got {o.ManifoldN})");
        if (!(o.ManifoldLow > 0 && o.ManifoldLow < o.ManifoldHigh && o.ManifoldHigh < 1))
            throw new UserError($"--manifold-p must be two probabilities 0 < low < high < 1 (got {o.ManifoldLow}, {o.ManifoldHigh})");
        foreach (var kind in o.ModelKinds)
            if (ModelKind.Find(kind) is not { InStudy: true })
                throw new UserError($"--models: '{kind}' is not a model of the study: use {string.Join(", ", ModelKind.Names(k => k.InStudy))}");
        if (!o.ModelKinds.Contains("ae") || !o.ModelKinds.Contains("vae"))
            throw new UserError("--models must include ae and vae (the report compares everything with the notebook's two models)");
        if (o.ModelKinds.Distinct().Count() != o.ModelKinds.Count) throw new UserError("--models lists a model twice");
        foreach (var beta in o.BetaValues)
            if (!(beta > 0 && float.IsFinite(beta))) throw new UserError($"--betas must be positive numbers (got {beta})");
        foreach (var latent in o.LatentSizes)
            if (latent < 1) throw new UserError($"--latents must be positive widths (got {latent})");
        if (!o.LatentSizes.Contains(2))
            throw new UserError("--latents must include 2: the latent figures and the capacity-matched AE need the 2-D runs");
        if (o.LatentSizes.Distinct().Count() != o.LatentSizes.Count) throw new UserError("--latents lists a width twice");
    }

    /// <summary>Every run of the study, seed by seed: the notebook's AE, each model at each latent width (AEs with a
    /// linear code), then the β sweep of the 2-D VAE (β = 1 is the 2-D VAE itself).</summary>
    public static IEnumerable<RunKey> Plan(ReportOptions o) =>
        from seed in o.SeedValues
        from key in new[] { new RunKey("ae", ReportOptions.NotebookAe.Latent, 1f, seed, Activation.Relu) }
            .Concat(o.ModelKinds.SelectMany(kind => o.LatentSizes.Select(latent => new RunKey(kind, latent, 1f, seed))))
            .Concat(o.BetaValues.Where(b => b != 1f).Select(b => new RunKey("vae", 2, b, seed)))
        select key;

    /// <summary>Epochs of a run: the notebook AE's budget for it, the sweep's for β ≠ 1, the study's for the rest.</summary>
    public static int EpochsOf(RunKey key, ReportOptions o) =>
        key.Config == ReportOptions.NotebookAe ? o.NotebookAeEpochs : key.Beta != 1f ? o.SweepEpochs : o.Epochs;

    /// <summary>A first-seed model and what the figures need of it.</summary>
    sealed record Evaluated(IModel Model, RunResult Result, float[] Reconstructions, float[] Latents, float[] Samples);

    /// <summary>Generated images shown in prior_samples.png per 2-D model: the first of those the run was scored on.</summary>
    const int SampleRows = 4, SampleColumns = 10;

    public static ReportSummary Build(IBackend backend, Dataset train, Dataset test, ReportOptions o, TextWriter log)
    {
        Validate(o);
        string output = TrainingSession.PrepareOutput(o.OutputFolder);
        var available = FindRuns(o.FromRuns);
        var testImages = DeviceImages.Upload(backend, test, Classifier.Classes); // the classifier's accuracy needs the labels
        var scorer = LoadScorer(backend, o, train, test, testImages, log);
        var runs = new List<RunResult>();
        var figureRuns = new Dictionary<ConfigKey, Evaluated>();
        foreach (var key in Plan(o))
        {
            // The first seed's models are kept for the figures; every other run's tensors are freed once it is scored.
            bool keep = key.Seed == o.Seed;
            using var runMemory = keep ? null : backend.Scope();
            var (model, history) = Obtain(backend, key, o, available, train, test, log);
            log.WriteLine($"gpuae: evaluating {key.Folder} on the test set");
            using var scoringMemory = backend.Scope();
            var recon = Inference.Reconstruct(backend, model, test.Pixels, test.Count);
            var latents = Inference.Encode(backend, model, test.Pixels, test.Count);
            var generated = Generate(backend, model, train, key.Seed, o.Samples);
            var result = Score(key, model, history, recon, latents, generated, backend, testImages, test, o, scorer);
            runs.Add(result);
            if (keep) figureRuns[key.Config] = new Evaluated(model, result, recon, latents, generated[..(SampleRows * SampleColumns * test.Features)]);
        }
        var study = new Study(runs);

        log.WriteLine("gpuae: drawing figures");
        ReportFigures figures;
        using (backend.Scope()) figures = DrawFigures(backend, study, figureRuns, train, test, o, output);
        // The interactive page of the two 2-D latents (the first seed's runs, as the figures).
        Explorer.Write(Path.Combine(output, Explorer.FileName), backend, test,
            [.. new[] { new ConfigKey("vae", 2, 1f), new ConfigKey("ae", 2, 1f) }.Select(c => figureRuns[c])
                .Select(m => new ExplorerPlane(m.Result.Key.Folder, m.Model, m.Latents))]);
        var widths = o.LatentSizes.Order().ToArray();
        Figures.LatentSizes(Path.Combine(output, GenerationPng), widths,
        [
            ("VAE: samples z ~ N(0, I)", [.. widths.Select(d => study.Stat(new("vae", d, 1f), r => r.Generation.SamplesDistance))]),
            ("AE: samples z ~ fitted Gaussian", [.. widths.Select(d => study.Stat(new("ae", d, 1f), r => r.Generation.SamplesDistance))]),
            ("VAE: reconstructions (z = μ)", [.. widths.Select(d => study.Stat(new("vae", d, 1f), r => r.Generation.ReconstructionsDistance))]),
            ("AE: reconstructions", [.. widths.Select(d => study.Stat(new("ae", d, 1f), r => r.Generation.ReconstructionsDistance))]),
        ], o.Seeds, "Fréchet distance to the test images on our classifier's features", "Fréchet distance (lower is closer)",
            (scorer.TrainTestDistance, "floor: training images"));
        var files = new List<string>(FigureFiles);
        if (o.BetaValues.Any(b => b != 1f)) files.AddRange(SweepFigureFiles);
        if (o.LatentSizes.Count > 1) files.AddRange(LatentFigureFiles);
        files.AddRange([Explorer.FileName, "metrics.csv", "metrics.json", "REPORT.md"]);
        var summary = new ReportSummary(study, figures, scorer, backend.DeviceName, files);
        WriteMetrics(output, summary);
        File.WriteAllText(Path.Combine(output, "REPORT.md"), ReportText.Write(summary, o, train.Count, test.Count));
        log.WriteLine($"gpuae: wrote {string.Join(", ", summary.Files)} to {output}");
        log.WriteLine($"gpuae: peak memory held as tensors on {backend.DeviceName}: {backend.PeakAllocatedBytes / (1024.0 * 1024):F0} MiB");
        return summary;
    }

    /// <summary>The committed classifier (--classifier), its test accuracy, the test images' feature Gaussian and the
    /// train-vs-test floor of the Fréchet distance.</summary>
    static Scorer LoadScorer(IBackend backend, ReportOptions o, Dataset train, Dataset test, DeviceImages testImages, TextWriter log)
    {
        string path = Path.Combine(o.ClassifierFolder, Checkpoint.FileName);
        if (!File.Exists(path))
            throw new UserError($"no classifier checkpoint at {path}: the generation scores need it; pass --classifier DIR, or train one with " +
                                $"`gpuae train classifier --epochs 12 --out {o.ClassifierFolder}`");
        if (Models.Load(backend, path, o.Batch).Model is not Classifier classifier)
            throw new UserError($"{path} does not hold a classifier: pass --classifier with the folder of a `gpuae train classifier` run");
        log.WriteLine($"gpuae: scoring generated images with the classifier in {o.ClassifierFolder}");
        double accuracy = new Evaluator(backend, classifier, testImages, classifier.MaxRows).Run().Accuracy;
        var testFeatures = Gaussian.Fit(Inference.Encode(backend, classifier, test.Pixels, test.Count), test.Count, Classifier.FeatureWidth);
        var trainFeatures = Gaussian.Fit(Inference.Encode(backend, classifier, train.Pixels, train.Count), train.Count, Classifier.FeatureWidth);
        return new Scorer(classifier, testFeatures, accuracy, Frechet.Distance(trainFeatures, testFeatures), o.ClassifierFolder);
    }

    /// <summary>Generated images and the test set's reconstructions scored on the classifier.</summary>
    static GenerationScores ScoreGeneration(IBackend backend, Scorer scorer, float[] generated, int count, float[] reconstructions, int testCount)
    {
        var c = scorer.Classifier;
        var samples = Gaussian.Fit(Inference.Encode(backend, c, generated, count), count, Classifier.FeatureWidth);
        var recon = Gaussian.Fit(Inference.Encode(backend, c, reconstructions, testCount), testCount, Classifier.FeatureWidth);
        var counts = new int[Classifier.Classes];
        foreach (int predicted in Inference.Predict(backend, c, generated, count)) counts[predicted]++;
        double[] shares = [.. counts.Select(k => (double)k / count)]; // counted, then divided: a class with every sample is exactly 1
        return new GenerationScores(Frechet.Distance(samples, scorer.Test), Frechet.Distance(recon, scorer.Test), shares);
    }

    /// <summary>The runs given with --from-runs, by what their checkpoints say they are.</summary>
    static Dictionary<RunKey, string> FindRuns(IReadOnlyList<string>? folders)
    {
        var found = new Dictionary<RunKey, string>();
        foreach (var folder in folders ?? [])
        {
            string checkpoint = Path.Combine(folder, Checkpoint.FileName);
            if (!File.Exists(checkpoint)) throw new UserError($"--from-runs: no {Checkpoint.FileName} in {folder}");
            var metadata = SafeTensors.Read(checkpoint).Metadata;
            var spec = Models.SpecOf(metadata, checkpoint);
            var key = new RunKey(spec.Kind, spec.LatentSize, spec.Model.IsVariational ? spec.Beta : 1f, (ulong)Checkpoint.GetLong(metadata, "seed", checkpoint),
                spec.Model.IsVariational ? Activation.None : spec.CodeActivation);
            found.TryAdd(key, folder);
        }
        return found;
    }

    /// <summary>Loads the run from --from-runs when one matches, else trains it into OUT/runs/RUN.</summary>
    static (IModel Model, List<EpochMetrics> History) Obtain(IBackend backend, RunKey key, ReportOptions o, Dictionary<RunKey, string> available,
        Dataset train, Dataset test, TextWriter log)
    {
        if (available.TryGetValue(key, out var folder))
        {
            log.WriteLine($"gpuae: using the {key.Folder} run in {folder}");
            return (Models.Load(backend, Path.Combine(folder, Checkpoint.FileName), o.Batch).Model, MetricsCsv.Read(Path.Combine(folder, "metrics.csv")));
        }
        if (available.Count > 0) log.WriteLine($"gpuae: no run among --from-runs is {key.Folder}: training it");
        var options = new TrainOptions(EpochsOf(key, o), o.Batch, 1e-3f, key.Seed);
        return TrainingSession.Run(backend, key.Spec, options, train, test, Path.Combine(o.OutputFolder, "runs", key.Folder), log);
    }

    static RunResult Score(RunKey key, IModel model, List<EpochMetrics> history, float[] recon, float[] latents, float[] generated,
        IBackend backend, DeviceImages testImages, Dataset test, ReportOptions o, Scorer scorer)
    {
        var evaluator = new Evaluator(backend, model, testImages, model.MaxRows);
        var metrics = evaluator.Run();
        double? iwae = model is VariationalAutoencoder ? evaluator.ImportanceWeightedBound(o.IwaeK) : null;
        int n = test.Count, f = test.Features;
        var perImage = new (double Psnr, double Ssim)[n];
        Parallel.For(0, n, i =>
        {
            var original = test.Pixels.AsSpan(i * f, f);
            var reconstruction = recon.AsSpan(i * f, f);
            perImage[i] = (ImageMetrics.Psnr(original, reconstruction), ImageMetrics.Ssim(original, reconstruction, Figures.Side, Figures.Side));
        });
        double knn = LatentAnalysis.KnnAccuracy(latents, test.Labels, n, model.LatentSize);
        double seconds = history.Count == 0 ? 0 : history.Average(e => e.Seconds);
        double empty = LatentAnalysis.EmptyShare(generated, o.Samples, f);
        var generation = ScoreGeneration(backend, scorer, generated, o.Samples, recon, n);
        return new RunResult(key, history.Count, seconds, metrics, perImage.Average(p => p.Psnr), perImage.Average(p => p.Ssim), iwae, knn, empty,
            generation, history);
    }

    /// <summary>Generated images of a model: a VAE decodes z ~ N(0, I); an AE decodes z from the Gaussian fitted to its
    /// training codes. Counter-generator noise keyed by the run's seed.</summary>
    static float[] Generate(IBackend backend, IModel model, Dataset train, ulong seed, int count)
    {
        int d = model.LatentSize;
        float[] z;
        if (model is VariationalAutoencoder)
            z = Inference.PriorLatents(count, d, seed);
        else
            z = LatentAnalysis.FittedGaussianSamples(Inference.Encode(backend, model, train.Pixels, train.Count), train.Count, d, count, seed, FittedStream);
        return Inference.Decode(backend, model, z, count);
    }

    static double[] Column(float[] pairs, int column, int count) => Enumerable.Range(0, count).Select(i => (double)pairs[2 * i + column]).ToArray();
    static float[] Row(float[] data, int i, int width) => data.AsSpan(i * width, width).ToArray();

    static ReportFigures DrawFigures(IBackend backend, Study study, Dictionary<ConfigKey, Evaluated> runs, Dataset train, Dataset test,
        ReportOptions o, string output)
    {
        int f = test.Features, wide = o.WideLatent;
        var classes = FashionMnist.ClassNames;
        var ae2 = runs[new("ae", 2, 1f)]; var vae2 = runs[new("vae", 2, 1f)];
        var notebookAe = runs[ReportOptions.NotebookAe];
        runs.TryGetValue(new("ae", wide, 1f), out var aeWide);
        runs.TryGetValue(new("vae", wide, 1f), out var vaeWide);
        if (wide == 2) aeWide = vaeWide = null; // the 2-D runs are shown anyway
        int[] FirstOf(int c, int count) => [.. Enumerable.Range(0, test.Count).Where(i => test.Labels[i] == c).Take(count)];

        // Reconstructions: the first two test images of each class; per model its reconstruction and the absolute error.
        var examples = Enumerable.Range(0, classes.Length).SelectMany(c => FirstOf(c, 2)).ToArray();
        var shown = new List<Evaluated> { notebookAe, ae2, vae2 };
        if (aeWide is not null) shown.Add(aeWide);
        if (vaeWide is not null) shown.Add(vaeWide);
        shown.AddRange(runs.Values.Where(r => r.Result.Key is { Model.Architecture: Architecture.Conv, Beta: 1f } k && (k.Latent == 2 || k.Latent == wide)));
        var grid = examples.Select(i => Row(test.Pixels, i, f)).ToList();
        var rowNames = new List<string> { "original" };
        foreach (var m in shown)
        {
            grid.AddRange(examples.Select(i => Row(m.Reconstructions, i, f)));
            grid.AddRange(examples.Select(i => Row(m.Reconstructions, i, f).Zip(Row(test.Pixels, i, f), (r, x) => Math.Abs(r - x)).ToArray()));
            rowNames.Add(m.Result.Key.Config.Label);
            rowNames.Add("|error|");
        }
        Figures.LabelledGrid(Path.Combine(output, ReconstructionsPng), grid, [.. rowNames], [.. examples.Select(i => classes[test.Labels[i]])],
            "Two test images per class, reconstructions (VAE: z = μ) and absolute errors", pixelsPerTile: 44, rotateColumnLabels: true);

        // The 2-D latents: the VAE's μ and the capacity-matched AE's code.
        Figures.ScatterPanels(Path.Combine(output, LatentScatterPng),
        [
            new(Column(vae2.Latents, 0, test.Count), Column(vae2.Latents, 1, test.Count), $"VAE, 2-D: μ (5-NN accuracy {vae2.Result.KnnAccuracy:P1})", "μ₁", "μ₂"),
            new(Column(ae2.Latents, 0, test.Count), Column(ae2.Latents, 1, test.Count), $"AE, 2-D: code (5-NN accuracy {ae2.Result.KnnAccuracy:P1})", "code₁", "code₂"),
        ], test.Labels, sharedLimits: false, columns: 2);

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
        var manifold = Inference.Decode(backend, vae2.Model, grid2, n * n);
        Figures.Manifold(Path.Combine(output, ManifoldPng), Enumerable.Range(0, n * n).Select(i => Row(manifold, i, f)).ToList(),
            quantiles, quantiles, $"VAE, 2-D: decoder on a {n}×{n} grid of normal quantiles (p = {o.ManifoldLow:0.00}…{o.ManifoldHigh:0.00})");

        // Generated samples: the VAE from its prior, the 2-D AE from a Gaussian fitted to its training codes (the first
        // of the images each run was scored on).
        Figures.LabelledGrid(Path.Combine(output, PriorSamplesPng),
            [.. Enumerable.Range(0, SampleRows * SampleColumns).Select(i => Row(vae2.Samples, i, f)), .. Enumerable.Range(0, SampleRows * SampleColumns).Select(i => Row(ae2.Samples, i, f))],
            [.. Enumerable.Repeat("VAE: z ~ N(0, I)", SampleRows), .. Enumerable.Repeat("AE: z ~ fitted Gaussian", SampleRows)], null,
            "Generated images of the 2-D models", pixelsPerTile: 56);

        // Straight lines in latent space between test images of different classes.
        (int From, int To)[] pairs = [(1, 2), (7, 8), (0, 9)];
        const int steps = 10;
        var rows = new List<float[]>();
        var labels = new List<string>();
        var lineModels = new List<Evaluated> { notebookAe, ae2, vae2 };
        foreach (var m in lineModels)
            foreach (var (from, to) in pairs)
            {
                int d = m.Model.LatentSize, a = FirstOf(from, 1)[0], b = FirstOf(to, 1)[0];
                var line = new float[steps * d];
                for (int s = 0; s < steps; s++)
                {
                    float t = s / (float)(steps - 1);
                    for (int j = 0; j < d; j++) line[s * d + j] = (1 - t) * m.Latents[a * d + j] + t * m.Latents[b * d + j];
                }
                var decoded = Inference.Decode(backend, m.Model, line, steps);
                rows.AddRange(Enumerable.Range(0, steps).Select(s => Row(decoded, s, f)));
                labels.Add($"{m.Result.Key.Config.Label}: {classes[from]} → {classes[to]}");
            }
        Figures.LabelledGrid(Path.Combine(output, InterpolationPng), rows, [.. labels],
            [.. Enumerable.Range(0, steps).Select(s => (s / (double)(steps - 1)).ToString("0.00", CultureInfo.InvariantCulture))],
            "Straight lines between two test images in latent space (AE: code, VAE: μ)", xLabel: "α, where z = (1 − α)·z(first image) + α·z(second image)");

        // The notebook AE's codes by PCA beside the VAE's μ.
        int notebookWidth = ReportOptions.NotebookAe.Latent;
        var (pcaX, pcaY, explainedX, explainedY) = LatentAnalysis.Pca2(notebookAe.Latents, test.Count, notebookWidth);
        double pcaKnn = LatentAnalysis.KnnAccuracy([.. pcaX.Zip(pcaY).SelectMany(p => new[] { (float)p.First, (float)p.Second })], test.Labels, test.Count, 2);
        Figures.ScatterPanels(Path.Combine(output, AePcaPng),
        [
            new(pcaX, pcaY, $"Notebook AE ({notebookWidth}-D ReLU code), PCA to 2-D (5-NN accuracy {pcaKnn:P1})",
                $"PC 1 ({explainedX:P0} of the variance)", $"PC 2 ({explainedY:P0} of the variance)"),
            new(Column(vae2.Latents, 0, test.Count), Column(vae2.Latents, 1, test.Count), $"VAE, 2-D: μ (5-NN accuracy {vae2.Result.KnnAccuracy:P1})", "μ₁", "μ₂"),
        ], test.Labels, sharedLimits: false, columns: 2);

        Figures.LossCurves(Path.Combine(output, LossCurvesPng),
            [.. lineModels.Concat(vaeWide is not null ? [vaeWide] : []).Select(m => (m.Result.Key.Config.Label, (IReadOnlyList<EpochMetrics>)m.Result.History))]);

        var sweep = o.BetaValues.Select(b => new ConfigKey("vae", 2, b)).ToList();
        if (o.BetaValues.Any(b => b != 1f))
        {
            if (!sweep.Any(c => c.Beta == 1f)) sweep.Add(new ConfigKey("vae", 2, 1f));
            sweep = [.. sweep.OrderBy(c => c.Beta)];
            Figures.RateDistortion(Path.Combine(output, RateDistortionPng),
                [.. sweep.Select(c => (c.Beta, study.Stat(c, r => r.Test.Kl), study.Stat(c, r => r.Test.Bce)))], o.Seeds);
            Figures.ScatterPanels(Path.Combine(output, BetaLatentsPng),
                [.. sweep.Select(c => runs[c]).Select(m => new Figures.ScatterPanel(Column(m.Latents, 0, test.Count), Column(m.Latents, 1, test.Count),
                    $"β = {Study.Number(m.Result.Key.Beta)}: KL {m.Result.Test.Kl:F2}, sampled BCE {m.Result.Test.Bce:F1}", "μ₁", "μ₂"))],
                test.Labels, sharedLimits: true, columns: 2);
        }
        if (o.LatentSizes.Count > 1)
        {
            var sizes = o.LatentSizes.Order().ToArray();
            Figures.LatentSizes(Path.Combine(output, LatentSizesPng), sizes,
            [
                ("AE: BCE of the reconstruction", [.. sizes.Select(d => study.Stat(new("ae", d, 1f), r => r.Test.BceMu))]),
                ("VAE: BCE decoded from z = μ", [.. sizes.Select(d => study.Stat(new("vae", d, 1f), r => r.Test.BceMu))]),
                ("VAE: negative ELBO, sampled", [.. sizes.Select(d => study.Stat(new("vae", d, 1f), r => r.Test.Loss))]),
                ($"VAE: IWAE bound, k = {o.IwaeK}", [.. sizes.Select(d => study.Stat(new("vae", d, 1f), r => r.Iwae))]),
            ], o.Seeds);
        }
        var muMean = LatentAnalysis.Moments(vae2.Latents, test.Count, 2).Mean.ToArray();
        return new ReportFigures(pcaKnn, explainedX + explainedY, LatentAnalysis.EmptyShare(test.Pixels, test.Count, f),
            LatentAnalysis.PrincipalSds(vae2.Latents, test.Count, 2), muMean);
    }

    /// <summary>metrics.csv (a row per run) and metrics.json (the runs, a summary per configuration, the classifier and
    /// the reference numbers), their metrics those of <see cref="Metrics.All"/>.</summary>
    static void WriteMetrics(string output, ReportSummary s)
    {
        string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        string? Code(ConfigKey c) => c.IsVae ? null : c.Code == Activation.Relu ? "relu" : "linear";
        var csv = Metrics.In(Written.Csv).ToArray();
        var lines = new List<string> { string.Join(",", ["model", "latent", "code", "beta", "seed", "epochs", .. csv.Select(m => m.Column), "device"]) };
        foreach (var m in s.Study.Runs)
            lines.Add(string.Join(",", [m.Key.Kind, $"{m.Key.Latent}", Code(m.Key.Config) ?? "", m.Key.IsVae ? F(m.Key.Beta) : "", $"{m.Key.Seed}", $"{m.Epochs}",
                .. csv.Select(metric => metric.Read(m) is double v ? F(v) : ""), $"\"{s.Device}\""]));
        File.WriteAllLines(Path.Combine(output, "metrics.csv"), lines);
        // A configuration's keys, then its metrics (null where no run has the metric).
        OrderedDictionary<string, object?> Keys(ConfigKey c) => new()
            { ["model"] = c.Kind, ["latent"] = c.Latent, ["code"] = Code(c), ["beta"] = c.IsVae ? c.Beta : null };
        OrderedDictionary<string, object?> Run(RunResult m)
        {
            var run = Keys(m.Key.Config);
            run["seed"] = m.Key.Seed;
            run["epochs"] = m.Epochs;
            foreach (var metric in Metrics.In(Written.RunJson)) run[metric.Column] = metric.JsonValue(m);
            return run;
        }
        OrderedDictionary<string, object?> Configuration(ConfigKey c)
        {
            var configuration = Keys(c);
            foreach (var metric in Metrics.In(Written.SummaryJson))
                configuration[metric.Column] = metric.Of(s.Study, c) is { Count: > 0 } st
                    ? new { mean = st.Mean, sd = double.IsNaN(st.Sd) ? (double?)null : st.Sd, seeds = st.Count } : null;
            return configuration;
        }
        var json = new
        {
            device = s.Device,
            runs = s.Study.Runs.Select(Run),
            configurations = s.Study.Configs.Select(Configuration),
            classifier = new { folder = s.Scorer.Folder, test_accuracy = s.Scorer.TestAccuracy, frechet_train_vs_test = s.Scorer.TrainTestDistance },
            test_set_empty_share = s.Figures.TestEmptyShare,
            notebook_ae_pca2_knn5_accuracy = s.Figures.NotebookAePcaKnn,
        };
        File.WriteAllText(Path.Combine(output, "metrics.json"), JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }
}
