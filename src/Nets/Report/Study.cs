using System.Globalization;
using GpuAe.Kernels;
using GpuAe.Nets.Model;
using GpuAe.Nets.Training;

namespace GpuAe.Nets.Report;

/// <summary>One run of the study: a model kind at a latent width, trained with a KL weight β (1 for the AEs, where
/// it means nothing) from a seed; Code is the AE's code activation (linear in the study, ReLU for the notebook's AE);
/// Epochs, where given, a budget other than the plan's for such a run (the notebook's AE at the study's budget).</summary>
public sealed record RunKey(string Kind, int Latent, float Beta, ulong Seed, Activation Code = Activation.None, int? Epochs = null)
{
    public ModelKind Model => ModelKind.Named(Kind);
    public bool IsVae => Model.IsVariational;
    public ConfigKey Config => new(Kind, Latent, Beta, Code, Epochs);
    public ModelSpec Spec => new(Kind, Code, Latent, Beta);
    /// <summary>The run's folder under OUT/runs: "vae-2d-seed42", "vae-2d-beta4-seed43".</summary>
    public string Folder => $"{Config.Slug}-seed{Seed}";
}

/// <summary>What the seeds of one configuration share: the row of the report's table.</summary>
public sealed record ConfigKey(string Kind, int Latent, float Beta, Activation Code = Activation.None, int? Epochs = null)
{
    public ModelKind Model => ModelKind.Named(Kind);
    public bool IsVae => Model.IsVariational;
    bool ReluCode => !IsVae && Code == Activation.Relu;
    public string Slug => $"{Kind}-{Latent}d" + (ReluCode ? "-relu" : "") + (Beta == 1f ? "" : $"-beta{Study.Number(Beta)}") + (Epochs is { } e ? $"-{e}ep" : "");
    /// <summary>"AE, 2-D", "AE, 32-D, ReLU code", "VAE, 2-D, β = 4", "AE, 32-D, ReLU code, 50 epochs".</summary>
    public string Label => $"{Model.Label}, {Latent}-D" + (ReluCode ? ", ReLU code" : "") + (Beta == 1f ? "" : $", β = {Study.Number(Beta)}") +
                           (Epochs is { } e ? $", {e} epochs" : "");
}

/// <summary>One run's numbers on the test set. Test: the loss terms (VAE: sampled negative ELBO, its sampled BCE, the KL;
/// BceMu and Mse decoded from z = μ); PSNR and SSIM of the deterministic reconstructions; the IWAE bound (VAEs);
/// the leave-one-out 5-NN class accuracy of the test codes (AE: code; VAE: μ); the share of near-empty images among
/// generated ones (VAE: z ~ N(0, I); AE: a Gaussian fitted to its training codes), and how they score on the
/// classifier's features (<see cref="GenerationScores"/>).</summary>
/// PerceptualDistance: the mean over test images of the Euclidean distance between the classifier's features of the image
/// and of its reconstruction. ActiveUnits (VAEs): latent dimensions whose μ varies over the test images (variance above
/// 0.01, Burda et al., 2016). SaturatedShare: generated images brighter on average than <see cref="LatentAnalysis.SaturatedIntensity"/>.
/// Sharpness: the generated images' mean <see cref="ImageMetrics.Sharpness"/>.
public sealed record RunResult(RunKey Key, int Epochs, double SecondsPerEpoch, EvalMetrics Test, double Psnr, double Ssim,
    double? Iwae, double KnnAccuracy, double EmptyShare, GenerationScores Generation, IReadOnlyList<EpochMetrics> History,
    double SaturatedShare, double PerceptualDistance, int? ActiveUnits, double Sharpness);

/// <summary>Generated images scored on the classifier: the Fréchet distance of their features to the test images'
/// (<see cref="Frechet"/>), the same for the deterministic reconstructions of the test images, the share of samples the
/// classifier puts in each class, and that distribution's entropy in nats (ln 10 ≈ 2.303 when every class is equally
/// represented).</summary>
/// A conditional model's samples ask for a class each (the classes in turn): RecognisedByClass is the share of each
/// class's samples the classifier puts in that class, null for the other models.
/// Precision and Recall: <see cref="PrecisionRecall"/> of the samples' features against the test images'.
public sealed record GenerationScores(double SamplesDistance, double ReconstructionsDistance, double[] ClassShares, double Precision, double Recall,
    double[]? RecognisedByClass = null)
{
    /// <summary>The share of all samples seen as the class they were asked for (the classes have equal numbers of samples).</summary>
    public double? Recognised => RecognisedByClass?.Average();

    public double ClassEntropy => -ClassShares.Where(p => p > 0).Sum(p => p * Math.Log(p));
}

/// <summary>Mean and sample standard deviation (n − 1) over the seeds; Sd is NaN for one seed.</summary>
public readonly record struct Stat(double Mean, double Sd, int Count)
{
    public static Stat Of(IEnumerable<double> values)
    {
        var v = values.ToArray();
        if (v.Length == 0) return new(double.NaN, double.NaN, 0);
        double mean = v.Average();
        double sd = v.Length < 2 ? double.NaN : Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1));
        return new(mean, sd, v.Length);
    }

    /// <summary>"262.03 ± 0.41" (or "262.03" for one seed).</summary>
    public string Format(string format) => double.IsNaN(Sd)
        ? Mean.ToString(format, CultureInfo.InvariantCulture)
        : $"{Mean.ToString(format, CultureInfo.InvariantCulture)} ± {Sd.ToString(format, CultureInfo.InvariantCulture)}";

    /// <summary>The variance of the mean (sd²/n), NaN for one seed.</summary>
    public double VarianceOfMean => Sd * Sd / Count;
}

/// <summary>The difference of two means, a − b, with its 95 % confidence interval by Welch's t: standard error
/// √(sd_a²/n_a + sd_b²/n_b) over the seeds, degrees of freedom by Welch–Satterthwaite. A shared variance (the test set's
/// binomial sampling error of a share measured on it) adds to the standard error with unlimited degrees of freedom. With
/// one seed on either side nothing is known of the spread: <see cref="Tested"/> is false. Every seed giving the same
/// value is a spread of 0: the interval is the difference itself.</summary>
public readonly record struct Difference(double Value, double StandardError, double DegreesOfFreedom, bool Tested)
{
    public static Difference Of(Stat a, Stat b, double shared = 0) => Combine(a.Mean - b.Mean, shared, a, b);

    /// <summary>A value made of several configurations' means (a difference of differences, say), its variance the sum of
    /// theirs (and <paramref name="shared"/>), its degrees of freedom by Welch–Satterthwaite.</summary>
    public static Difference Combine(double value, double shared, params Stat[] parts)
    {
        double se2 = shared + parts.Sum(p => p.VarianceOfMean);
        double df = se2 * se2 / parts.Sum(p => p.VarianceOfMean * p.VarianceOfMean / (p.Count - 1));
        return new(value, Math.Sqrt(se2), df, parts.All(p => p.Count > 1));
    }

    public Difference Negated => this with { Value = -Value };

    /// <summary>Half the 95 % interval: t(0.975, ν) · SE (0 when every seed gave the same).</summary>
    public double HalfWidth => !Tested ? double.NaN : StandardError == 0 ? 0
        : double.IsFinite(DegreesOfFreedom) ? MathNet.Numerics.Distributions.StudentT.InvCDF(0, 1, DegreesOfFreedom, 0.975) * StandardError
        : 1.959963984540054 * StandardError; // only the shared variance: the normal quantile
    public double Low => Value - HalfWidth;
    public double High => Value + HalfWidth;

    /// <summary>The 95 % interval lies below 0: a is lower than b.</summary>
    public bool Below => Tested && High < 0;
    /// <summary>The 95 % interval lies above 0: a is higher than b.</summary>
    public bool Above => Tested && Low > 0;

    /// <summary>"4.31 (95 % CI 2.10 to 6.52; Welch's t, 3.4 df)", "4.31 (every seed the same)", "4.31 (one seed: no interval)".</summary>
    public string Format(string format)
    {
        string F(double v) => v.ToString(format, CultureInfo.InvariantCulture);
        return !Tested ? $"{F(Value)} (one seed: no interval)"
            : StandardError == 0 ? $"{F(Value)} (every seed the same)"
            : $"{F(Value)} (95 % CI {F(Low)} to {F(High)}; Welch's t, {DegreesOfFreedom.ToString("F1", CultureInfo.InvariantCulture)} df)";
    }
}

/// <summary>The study's runs grouped by configuration, with each number's mean ± sd over the seeds.</summary>
public sealed class Study(IReadOnlyList<RunResult> runs)
{
    public IReadOnlyList<RunResult> Runs { get; } = runs;

    public static string Number(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>The configurations in the order their first runs came.</summary>
    public IReadOnlyList<ConfigKey> Configs => [.. Runs.Select(r => r.Key.Config).Distinct()];

    public IEnumerable<RunResult> Of(ConfigKey config) => Runs.Where(r => r.Key.Config == config);

    /// <summary>Mean ± sd over the seeds of one number of a configuration's runs (runs without it are skipped).</summary>
    public Stat Stat(ConfigKey config, Func<RunResult, double?> value) =>
        Report.Stat.Of(Of(config).Select(value).Where(v => v is not null).Select(v => v!.Value));
}
