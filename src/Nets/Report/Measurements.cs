using GpuAe.Kernels;
using GpuAe.Nets.Data;
using GpuAe.Nets.Model;

namespace GpuAe.Nets.Report;

/// <summary>What a finished report holds, for the CLI and the tests.</summary>
public sealed record ReportSummary(Study Study, Measurements Measured, Scorer Scorer, string Device, IReadOnlyList<string> Files, int TrainCount, int TestCount);

/// <summary>The classifier that scores generated images, its test accuracy, the test images' features (per image, and the
/// Gaussian fitted to them), the squared radii of their improved-precision-and-recall balls (<see cref="PrecisionRecall"/>),
/// and the Fréchet distance of as many training images as a run generates to the test images (the floor: what two samples
/// of real data of that size score; the distance's bias depends on the size). <see cref="Choice"/>: how its checkpoint was chosen.</summary>
public sealed record Scorer(Classifier Classifier, float[] TestFeatures, Gaussian Test, float[] TestRadii, double TestAccuracy, double TrainTestDistance,
    int FloorImages, string Folder, ClassifierChoice Choice);

/// <summary>The classifier's chosen epoch of those it trained, by its cross-entropy (nats per image) on the validation
/// images held out of its training set.</summary>
public sealed record ClassifierChoice(int Epoch, int Epochs, double ValidationLoss, double ValidationAccuracy, int ValidationImages);

/// <summary>A first-seed model and what the figures need of it: its test reconstructions and latents, and the first of
/// the generated images it was scored on.</summary>
public sealed record FirstSeedRun(IModel Model, RunResult Result, float[] Reconstructions, float[] Latents, float[] Samples);

/// <summary>Decoded points of a straight line in a model's latent space, from the first test image of one class to the
/// first of another: <see cref="Measurements.InterpolationSteps"/> images.</summary>
public sealed record Interpolation(ConfigKey Config, int From, int To, float[] Images);

/// <summary>Codes projected onto their two principal axes, the share of the variance each explains, and the 5-NN
/// accuracy of the projection.</summary>
public sealed record Projection(double[] X, double[] Y, double ExplainedX, double ExplainedY, double KnnAccuracy);

/// <summary>Everything the figures and the text show besides the study's metrics, measured on the first seed's runs (and
/// the test set) before any figure is drawn: the first seed's runs; the 2-D VAE's decoder on a grid of normal quantiles
/// (images top row first: z₁ along columns, z₂ along rows, the top row the largest z₂); lines decoded between test
/// images; the notebook AE's codes by PCA; the shares of near-empty and near-saturated test images and their mean
/// sharpness; the spread and the mean of the 2-D VAE's μ.</summary>
public sealed record Measurements(IReadOnlyDictionary<ConfigKey, FirstSeedRun> FirstSeed, double[] ManifoldQuantiles, float[] Manifold,
    IReadOnlyList<Interpolation> Interpolations, Projection NotebookAePca, double TestEmptyShare, double TestSaturatedShare, double TestSharpness, double[] VaeMuSds,
    double[] VaeMuMean)
{
    public const int InterpolationSteps = 10;
    /// <summary>The pairs of classes the interpolations join.</summary>
    static readonly (int From, int To)[] InterpolationPairs = [(1, 2), (7, 8), (0, 9)];

    /// <summary>The configurations whose interpolations and loss curves are shown: the notebook's AE and the 2-D models.</summary>
    public static readonly ConfigKey[] LineModels = [ReportOptions.NotebookAe, new("ae", 2, 1f), new("vae", 2, 1f)];

    /// <summary>The first <paramref name="count"/> test images of class <paramref name="c"/>.</summary>
    public static int[] FirstOf(Dataset test, int c, int count) => [.. Enumerable.Range(0, test.Count).Where(i => test.Labels[i] == c).Take(count)];

    public static Measurements Take(IBackend backend, IReadOnlyDictionary<ConfigKey, FirstSeedRun> runs, Dataset test, ReportOptions o)
    {
        var vae2 = runs[new("vae", 2, 1f)];
        var notebookAe = runs[ReportOptions.NotebookAe];

        // The manifold: z₁ along columns, z₂ along rows with the top row the largest z₂.
        var quantiles = NormalQuantile.Grid(o.ManifoldN, o.ManifoldLow, o.ManifoldHigh);
        int n = o.ManifoldN;
        var grid = new float[n * n * 2];
        for (int r = 0; r < n; r++)
            for (int c = 0; c < n; c++)
            {
                grid[2 * (r * n + c)] = (float)quantiles[c];
                grid[2 * (r * n + c) + 1] = (float)quantiles[n - 1 - r];
            }
        var manifold = Inference.Decode(backend, vae2.Model, grid, n * n);

        // Straight lines in latent space between test images of different classes.
        const int steps = InterpolationSteps;
        var interpolations = new List<Interpolation>();
        foreach (var m in LineModels.Select(c => runs[c]))
            foreach (var (from, to) in InterpolationPairs)
            {
                int d = m.Model.LatentSize, a = FirstOf(test, from, 1)[0], b = FirstOf(test, to, 1)[0];
                var line = new float[steps * d];
                for (int s = 0; s < steps; s++)
                {
                    float t = s / (float)(steps - 1);
                    for (int j = 0; j < d; j++) line[s * d + j] = (1 - t) * m.Latents[a * d + j] + t * m.Latents[b * d + j];
                }
                interpolations.Add(new Interpolation(m.Result.Key.Config, from, to, Inference.Decode(backend, m.Model, line, steps)));
            }

        // The notebook AE's codes by PCA.
        var (pcaX, pcaY, explainedX, explainedY) = LatentAnalysis.Pca2(notebookAe.Latents, test.Count, ReportOptions.NotebookAe.Latent);
        double pcaKnn = LatentAnalysis.KnnAccuracy([.. pcaX.Zip(pcaY).SelectMany(p => new[] { (float)p.First, (float)p.Second })], test.Labels, test.Count, 2);

        var muMean = LatentAnalysis.Moments(vae2.Latents, test.Count, 2).Mean.ToArray();
        return new Measurements(runs, quantiles, manifold, interpolations, new Projection(pcaX, pcaY, explainedX, explainedY, pcaKnn),
            LatentAnalysis.EmptyShare(test.Pixels, test.Count, test.Features), LatentAnalysis.SaturatedShare(test.Pixels, test.Count, test.Features),
            ImageMetrics.MeanSharpness(test.Pixels, test.Count, Figures.Side, Figures.Side),
            LatentAnalysis.PrincipalSds(vae2.Latents, test.Count, 2), muMean);
    }
}
