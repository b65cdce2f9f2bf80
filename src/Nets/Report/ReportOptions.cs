using GpuAe.Kernels;
using GpuAe.Nets.Model;

namespace GpuAe.Nets.Report;

/// <summary>What `gpuae report` trains and how. The defaults are the committed study (reports/REPORT.md): the notebook's AE
/// (32-D ReLU code, 10 epochs); AE (linear code, like the VAE's μ) and VAE at latent widths 2, 8 and 32, all with the
/// notebook VAE's budget of 50 epochs; a β sweep of the 2-D VAE; three seeds.</summary>
public sealed record ReportOptions(int NotebookAeEpochs = 10, int Epochs = 50, int Batch = 128, ulong Seed = 42, string OutputFolder = "study",
    IReadOnlyList<string>? FromRuns = null, int IwaeK = 100, int ManifoldN = 15, double ManifoldLow = 0.05, double ManifoldHigh = 0.95,
    string CommandLine = "gpuae report", IReadOnlyList<string>? Models = null, IReadOnlyList<float>? Betas = null, int? BetaEpochs = null,
    int Seeds = 3, IReadOnlyList<int>? Latents = null, string? ClassifierFolder = null, int Samples = 10_000)
{
    /// <summary>The classifier shipped beside the program (and in the .NET tool package): a copy of the repository's
    /// <see cref="ShippedClassifierSource"/>/chosen.safetensors, used when --classifier is not given.</summary>
    public static string ShippedClassifier => Path.Combine(AppContext.BaseDirectory, "classifier");
    public const string ShippedClassifierSource = "reports/classifier";
    /// <summary>The folder whose chosen.safetensors scores generated images: --classifier, else the shipped one.</summary>
    public string ClassifierPath => ClassifierFolder ?? ShippedClassifier;
    /// <summary>How the report names it: the folder given, or the shipped copy by its source in the repository.</summary>
    public string ClassifierName => ClassifierFolder ?? ShippedClassifierSource;

    public static readonly string[] DefaultModels = ["ae", "vae", "cvae", "conv-ae", "conv-vae", "vae-gan"];
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
    /// <summary>The notebook's AE at the study's budget (<see cref="Epochs"/>), so that the budget, the code activation
    /// and the width are separated; none when the two budgets are the same.</summary>
    public ConfigKey? NotebookAeAtBudget => NotebookAeEpochs != Epochs ? NotebookAe with { Epochs = Epochs } : null;
}
