using GpuAe.Nets.Model;

namespace GpuAe.Nets.Report;

/// <summary>Which way a metric improves.</summary>
public enum Better { Lower, Higher, Neither }

/// <summary>Which outputs hold a metric: metrics.csv's study rows, metrics.json's runs, metrics.json's per-configuration
/// summaries (mean ± sd over the seeds).</summary>
[Flags]
public enum Written { Csv = 1, RunJson = 2, SummaryJson = 4, Everywhere = Csv | RunJson | SummaryJson }

/// <summary>One number the study measures per run: one row of <see cref="Metrics.All"/>.
/// Name: the heading REPORT.md's tables give it (a table may give its own). Column: metrics.csv's column and
/// metrics.json's key. Unit: of the value as REPORT.md shows it; "%" means the files hold a share (0…1) and the tables
/// show it × 100 followed by " %". Format: the tables' .NET number format. Has: the model kinds it means something for
/// (the tables write "—" for the others; the files keep what was measured: an AE's KL is 0, it has no IWAE bound).
/// Read: a run's value, null where the run has none.</summary>
public sealed record Metric(string Name, string Column, string Unit, string Format, Better Better, Func<ModelKind, bool> Has,
    Func<RunResult, double?> Read)
{
    public Written In { get; init; } = Written.Everywhere;
    /// <summary>A metric with one value per class (the class shares): metrics.json's runs hold the vector; it has no
    /// single value, so <see cref="Read"/> gives none.</summary>
    public Func<RunResult, double[]>? PerClass { get; init; }

    public bool Percent => Unit == "%";

    /// <summary>The run's value as metrics.json writes it.</summary>
    public object? JsonValue(RunResult run) => PerClass is { } perClass ? perClass(run) : Read(run);

    /// <summary>Mean ± sd over the seeds of a configuration, of the value as the files hold it.</summary>
    public Stat Of(Study study, ConfigKey config) => study.Stat(config, Read);

    /// <summary>Mean ± sd over the seeds of a configuration, as the tables show it (a share as a percentage).</summary>
    public Stat Shown(Study study, ConfigKey config) => Percent ? study.Stat(config, r => Read(r) * 100) : Of(study, config);

    /// <summary>A table's cell: "262.03 ± 0.41", "48.5 ± 4.0 %", or "—" for a kind that does not have it.</summary>
    public string Cell(Study study, ConfigKey config, string? format = null) =>
        !Has(config.Model) ? "—" : Shown(study, config).Format(format ?? Format) + (Percent ? " %" : "");
}

/// <summary>The study's metrics, in the order of metrics.csv's columns: the one list that metrics.csv, metrics.json and
/// REPORT.md's tables read.</summary>
public static class Metrics
{
    static bool Every(ModelKind _) => true;
    static bool Variational(ModelKind kind) => kind.IsVariational;

    public static readonly Metric SecondsPerEpoch = new("seconds per epoch", "seconds_per_epoch", "s", "F2", Better.Lower, Every, r => r.SecondsPerEpoch)
        { In = Written.Csv | Written.RunJson };
    public static readonly Metric Loss = new("−ELBO, sampled (nats)", "test_loss", "nats", "F2", Better.Lower, Variational, r => r.Test.Loss);
    public static readonly Metric Bce = new("BCE, z ~ q(z|x)", "test_bce", "nats", "F2", Better.Lower, Variational, r => r.Test.Bce);
    public static readonly Metric Kl = new("KL (nats)", "test_kl", "nats", "F2", Better.Neither, Variational, r => r.Test.Kl);
    public static readonly Metric BceMu = new("BCE from code / z = μ", "test_bce_mu", "nats", "F2", Better.Lower, Every, r => r.Test.BceMu);
    public static readonly Metric Mse = new("MSE/pixel", "test_mse", "", "F5", Better.Lower, Every, r => r.Test.Mse);
    public static readonly Metric Psnr = new("PSNR (dB)", "test_psnr_db", "dB", "F2", Better.Higher, Every, r => r.Psnr);
    public static readonly Metric Ssim = new("SSIM", "test_ssim", "", "F3", Better.Higher, Every, r => r.Ssim);
    public static readonly Metric Iwae = new("IWAE bound", "iwae_bound", "nats", "F2", Better.Lower, Variational, r => r.Iwae);
    public static readonly Metric Knn = new("5-NN accuracy", "knn5_accuracy", "%", "F1", Better.Higher, Every, r => r.KnnAccuracy);
    public static readonly Metric EmptyShare = new("generated near-empty", "generated_empty_share", "%", "F1", Better.Lower, Every, r => r.EmptyShare);
    public static readonly Metric FrechetSamples = new("Fréchet distance, samples", "frechet_samples", "", "F2", Better.Lower, Every,
        r => r.Generation.SamplesDistance);
    public static readonly Metric FrechetReconstructions = new("Fréchet distance, reconstructions", "frechet_reconstructions", "", "F2", Better.Lower, Every,
        r => r.Generation.ReconstructionsDistance);
    public static readonly Metric ClassShares = new("class shares", "class_shares", "%", "F1", Better.Neither, Every, _ => null)
        { In = Written.RunJson, PerClass = r => r.Generation.ClassShares };
    public static readonly Metric ClassEntropy = new("class entropy (nats)", "class_entropy", "nats", "F3", Better.Higher, Every, r => r.Generation.ClassEntropy);

    public static readonly Metric SaturatedShare = new("generated near-saturated", "generated_saturated_share", "%", "F1", Better.Lower, Every,
        r => r.SaturatedShare);
    public static readonly Metric Precision = new("precision", "precision", "%", "F1", Better.Higher, Every, r => r.Generation.Precision);
    public static readonly Metric Recall = new("recall", "recall", "%", "F1", Better.Higher, Every, r => r.Generation.Recall);
    public static readonly Metric Perceptual = new("feature distance", "perceptual_distance", "", "F2", Better.Lower, Every, r => r.PerceptualDistance);
    public static readonly Metric ActiveUnits = new("active units", "active_units", "", "F1", Better.Neither, Variational, r => r.ActiveUnits);

    public static readonly Metric Sharpness = new("sharpness", "generated_sharpness", "", "F4", Better.Neither, Every, r => r.Sharpness);

    public static readonly Metric Recognised = new("recognised as asked", "conditional_recognised", "%", "F1", Better.Higher, k => k.IsConditional,
        r => r.Generation.Recognised);

    public static readonly Metric[] All =
        [SecondsPerEpoch, Loss, Bce, Kl, BceMu, Mse, Psnr, Ssim, Iwae, Knn, EmptyShare, FrechetSamples, FrechetReconstructions, ClassShares, ClassEntropy,
            Recognised, SaturatedShare, Precision, Recall, Perceptual, ActiveUnits, Sharpness];

    /// <summary>The metrics an output holds, in <see cref="All"/>'s order.</summary>
    public static IEnumerable<Metric> In(Written output) => All.Where(m => (m.In & output) != 0);
}
