using System.Globalization;
using GpuAe.Nets.Data;
using GpuAe.Nets.Model;
using GpuAe.Nets.Training;

namespace GpuAe.Nets.Report;

/// <summary>The report's figures, drawn from what was measured (<see cref="Study"/>, <see cref="Measurements"/>): nothing
/// here runs a model.</summary>
public static class StudyFigures
{
    public const string ReconstructionsPng = "reconstructions.png", LatentScatterPng = "latent_scatter.png",
        ManifoldPng = "latent_manifold.png", PriorSamplesPng = "prior_samples.png", InterpolationPng = "interpolation.png",
        AePcaPng = "ae_latent_pca.png", LossCurvesPng = "loss_curves.png", RateDistortionPng = "rate_distortion.png",
        BetaLatentsPng = "beta_latents.png", LatentSizesPng = "latent_sizes.png", GenerationPng = "generation_scores.png",
        ConditionalSamplesPng = "conditional_samples.png", AdversarialSamplesPng = "adversarial_samples.png";
    static readonly string[] FigureFiles = [ReconstructionsPng, LatentScatterPng, ManifoldPng, PriorSamplesPng, InterpolationPng, AePcaPng, LossCurvesPng, GenerationPng];
    /// <summary>The figures of the β sweep, drawn when it has a β other than 1.</summary>
    public static readonly string[] SweepFigureFiles = [RateDistortionPng, BetaLatentsPng];
    /// <summary>The figure of the latent sizes, drawn when the study has more than one.</summary>
    static readonly string[] LatentFigureFiles = [LatentSizesPng];

    /// <summary>Generated images shown in prior_samples.png per 2-D model: the first of those the run was scored on.</summary>
    public const int SampleRows = 4, SampleColumns = 10;

    /// <summary>The first seed's samples kept for the figures: prior_samples.png's, or a conditional model's first 100,
    /// ten of each class (see ConditionalGeneration.AskedClasses) for conditional_samples.png.</summary>
    public static int KeptSamples(ModelKind kind) => kind.IsConditional ? 10 * Classifier.Classes : SampleRows * SampleColumns;

    /// <summary>The figures a study with these options draws.</summary>
    public static List<string> Files(ReportOptions o)
    {
        var files = new List<string>(FigureFiles);
        if (o.BetaValues.Any(b => b != 1f)) files.AddRange(SweepFigureFiles);
        if (o.LatentSizes.Count > 1) files.AddRange(LatentFigureFiles);
        if (o.ModelKinds.Any(k => ModelKind.Named(k).IsConditional)) files.Add(ConditionalSamplesPng);
        if (o.ModelKinds.Any(k => ModelKind.Named(k).IsAdversarial)) files.Add(AdversarialSamplesPng);
        return files;
    }

    static double[] Column(float[] pairs, int column, int count) => Enumerable.Range(0, count).Select(i => (double)pairs[2 * i + column]).ToArray();
    static float[] Row(float[] data, int i, int width) => data.AsSpan(i * width, width).ToArray();

    public static void Draw(Study study, Measurements measured, Scorer scorer, Dataset test, ReportOptions o, string output)
    {
        int f = test.Features, wide = o.WideLatent;
        var classes = FashionMnist.ClassNames;
        var runs = measured.FirstSeed;
        var ae2 = runs[new("ae", 2, 1f)]; var vae2 = runs[new("vae", 2, 1f)];
        var notebookAe = runs[ReportOptions.NotebookAe];
        runs.TryGetValue(new("ae", wide, 1f), out var aeWide);
        runs.TryGetValue(new("vae", wide, 1f), out var vaeWide);
        if (wide == 2) aeWide = vaeWide = null; // the 2-D runs are shown anyway

        // Reconstructions: the first two test images of each class; per model its reconstruction and the absolute error.
        var examples = Enumerable.Range(0, classes.Length).SelectMany(c => Measurements.FirstOf(test, c, 2)).ToArray();
        var shown = new List<FirstSeedRun> { notebookAe, ae2, vae2 };
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
            "Two test images per class, reconstructions (VAE: z = μ) and absolute errors\n(|error| on the images' grey scale: 0 black, 1 white)",
            pixelsPerTile: 44, rotateColumnLabels: true);

        // The 2-D latents: the VAE's μ and the capacity-matched AE's code.
        Figures.ScatterPanels(Path.Combine(output, LatentScatterPng),
        [
            new(Column(vae2.Latents, 0, test.Count), Column(vae2.Latents, 1, test.Count), $"VAE, 2-D: μ (5-NN accuracy {vae2.Result.KnnAccuracy:P1})", "μ₁", "μ₂"),
            new(Column(ae2.Latents, 0, test.Count), Column(ae2.Latents, 1, test.Count), $"AE, 2-D: code (5-NN accuracy {ae2.Result.KnnAccuracy:P1})", "code₁", "code₂"),
        ], test.Labels, sharedLimits: false, columns: 2);

        // The manifold.
        var quantiles = measured.ManifoldQuantiles;
        int n = o.ManifoldN;
        Figures.Manifold(Path.Combine(output, ManifoldPng), Enumerable.Range(0, n * n).Select(i => Row(measured.Manifold, i, f)).ToList(),
            quantiles, quantiles, $"VAE, 2-D: decoder on a {n}×{n} grid of normal quantiles (p = {o.ManifoldLow:0.00}…{o.ManifoldHigh:0.00})");

        // Generated samples at every width: the VAE from its prior, the AE from a Gaussian fitted to its training codes (the
        // first of the images each run was scored on); two rows each at 2-D, the notebook's VAE, one at the other widths.
        const int shownRows = 2;
        IEnumerable<float[]> Samples(FirstSeedRun m, int rows) => Enumerable.Range(0, rows * SampleColumns).Select(i => Row(m.Samples, i, f));
        var sampled = o.LatentSizes.Order().SelectMany(d => new[] { runs[new("vae", d, 1f)], runs[new("ae", d, 1f)] }).ToList();
        int RowsOf(FirstSeedRun m) => m.Result.Key.Latent == 2 ? shownRows : 1;
        Figures.LabelledGrid(Path.Combine(output, PriorSamplesPng), [.. sampled.SelectMany(m => Samples(m, RowsOf(m)))],
            [.. sampled.SelectMany(m => Enumerable.Repeat($"{m.Result.Key.Config.Label}: z ~ " + (m.Model.Kind.SamplesPrior ? "N(0, I)" : "fitted Gaussian"), RowsOf(m)))],
            null, $"Generated images at every latent width (seed {o.Seed})", pixelsPerTile: 64);

        // An adversarial model's samples beside the VAE's, the VAE's with its encoder and decoder, and test images.
        foreach (var adversarial in runs.Values.Where(r => r.Model.Kind.IsAdversarial))
        {
            var compared = new[] { vae2 }.Concat(runs.Values.Where(r => r.Result.Key.Config == new ConfigKey(ModelKind.ConvVae.Name, 2, 1f))).Append(adversarial).ToList();
            Figures.LabelledGrid(Path.Combine(output, AdversarialSamplesPng),
                [.. Enumerable.Range(0, shownRows * SampleColumns).Select(i => Row(test.Pixels, i, f)), .. compared.SelectMany(m => Samples(m, shownRows))],
                [.. Enumerable.Repeat("test images", shownRows), .. compared.SelectMany(m => Enumerable.Repeat($"{m.Result.Key.Config.Label}: z ~ N(0, I)", shownRows))],
                null, $"Prior samples of the 2-D models beside test images (seed {o.Seed})", pixelsPerTile: 64);
        }

        // A conditional model's samples, one row per class: sample i asked for class i mod 10.
        foreach (var conditional in runs.Values.Where(r => r.Model.Kind.IsConditional))
            Figures.LabelledGrid(Path.Combine(output, ConditionalSamplesPng),
                [.. Enumerable.Range(0, Classifier.Classes).SelectMany(c => Enumerable.Range(0, 10).Select(j => Row(conditional.Samples, c + Classifier.Classes * j, f)))],
                classes, null, $"{conditional.Result.Key.Config.Label}: z ~ N(0, I) decoded for each class (seed {o.Seed})", pixelsPerTile: 56);

        // Straight lines in latent space between test images of different classes.
        const int steps = Measurements.InterpolationSteps;
        Figures.LabelledGrid(Path.Combine(output, InterpolationPng),
            [.. measured.Interpolations.SelectMany(line => Enumerable.Range(0, steps).Select(s => Row(line.Images, s, f)))],
            [.. measured.Interpolations.Select(line => $"{line.Config.Label}: {classes[line.From]} → {classes[line.To]}")],
            [.. Enumerable.Range(0, steps).Select(s => (s / (double)(steps - 1)).ToString("0.00", CultureInfo.InvariantCulture))],
            "Straight lines between two test images in latent space (AE: code, VAE: μ)", xLabel: "α, where z = (1 − α)·z(first image) + α·z(second image)");

        // The notebook AE's codes by PCA (the VAE's μ to compare with are latent_scatter.png's left panel).
        var pca = measured.NotebookAePca;
        Figures.ScatterPanels(Path.Combine(output, AePcaPng),
        [
            new(pca.X, pca.Y, $"Notebook AE ({ReportOptions.NotebookAe.Latent}-D ReLU code), PCA to 2-D (5-NN accuracy {pca.KnnAccuracy:P1}; seed {o.Seed})",
                $"PC 1 ({pca.ExplainedX:P0} of the variance)", $"PC 2 ({pca.ExplainedY:P0} of the variance)"),
        ], test.Labels, sharedLimits: false, columns: 1);

        Figures.LossCurves(Path.Combine(output, LossCurvesPng),
            [.. Measurements.LineModels.Select(c => runs[c]).Concat(vaeWide is not null ? [vaeWide] : [])
                .Select(m => (m.Result.Key.Config.Label, (IReadOnlyList<EpochMetrics>)m.Result.History))]);

        var sweep = o.BetaValues.Select(b => new ConfigKey("vae", 2, b)).ToList();
        if (o.BetaValues.Any(b => b != 1f))
        {
            if (!sweep.Any(c => c.Beta == 1f)) sweep.Add(new ConfigKey("vae", 2, 1f));
            sweep = [.. sweep.OrderBy(c => c.Beta)];
            Figures.RateDistortion(Path.Combine(output, RateDistortionPng),
                [.. sweep.Select(c => (c.Beta, Metrics.Kl.Of(study, c), Metrics.Bce.Of(study, c)))], o.Seeds);
            Figures.ScatterPanels(Path.Combine(output, BetaLatentsPng),
                [.. sweep.Select(c => runs[c]).Select(m => new Figures.ScatterPanel(Column(m.Latents, 0, test.Count), Column(m.Latents, 1, test.Count),
                    $"β = {Study.Number(m.Result.Key.Beta)}: KL {m.Result.Test.Kl:F2}, sampled BCE {m.Result.Test.Bce:F1}", "μ₁", "μ₂"))],
                test.Labels, sharedLimits: true, columns: 2);
        }
        var sizes = o.LatentSizes.Order().ToArray();
        Stat[] AcrossWidths(string kind, Metric metric) => [.. sizes.Select(d => metric.Of(study, new(kind, d, 1f)))];
        if (o.LatentSizes.Count > 1)
            Figures.LatentSizes(Path.Combine(output, LatentSizesPng), sizes,
            [
                new("Deterministic reconstruction", "BCE, nats per image", [("AE: from the code", AcrossWidths("ae", Metrics.BceMu)),
                    ("VAE: decoded from z = μ", AcrossWidths("vae", Metrics.BceMu))]),
                new("VAE: bounds on the BCE objective", "nats per image", [("negative ELBO, sampled", AcrossWidths("vae", Metrics.Loss)),
                    ($"IWAE bound, k = {o.IwaeK}", AcrossWidths("vae", Metrics.Iwae))]),
            ], o.Seeds);
        Figures.LatentSizes(Path.Combine(output, GenerationPng), sizes,
        [
            new("Fréchet distance of samples", "Fréchet distance (lower is closer)", [("VAE: z ~ N(0, I)", AcrossWidths("vae", Metrics.FrechetSamples)),
                ("AE: z ~ fitted Gaussian", AcrossWidths("ae", Metrics.FrechetSamples))], (scorer.TrainTestDistance, "floor: training images")),
            new("Fréchet distance of reconstructions", "Fréchet distance (lower is closer)", [("VAE: z = μ", AcrossWidths("vae", Metrics.FrechetReconstructions)),
                ("AE: the code", AcrossWidths("ae", Metrics.FrechetReconstructions))], (scorer.TrainTestDistance, "floor: training images")),
        ], o.Seeds);
    }
}
