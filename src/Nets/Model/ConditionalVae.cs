using GpuAe.Kernels;

namespace GpuAe.Nets.Model;

/// <summary>
/// The conditional VAE of Sohn et al. (2015), dense: the VAE of p(x|y) with the one-hot class y appended to the
/// encoder's input ([x | y], 794 → 256 ReLU → μ, log σ²) and to z at the decoder's input ([z | y] → 256 ReLU → 784).
/// The loss, sampling, KL and IWAE are the VAE's, conditioned on y; the labels are gathered on the device beside the
/// images (<see cref="ISupervised"/>), and sampling a class is decoding z ~ N(0, I) with that class's one-hot row.
/// </summary>
public sealed class ConditionalVae(IBackend backend, int maxRows, int latent = 2, float beta = 1f, long warmupSteps = 0,
    int features = 784, int hidden = 256, int classes = Classifier.Classes)
    : VariationalAutoencoder(backend, maxRows, latent, beta, warmupSteps, features, hidden, Architecture.Dense, classes), ISupervised
{
    public override ModelKind Kind => ModelKind.Cvae;
    public int TargetWidth => ConditionWidth;
    public override IReadOnlyDictionary<string, string> Config => new Dictionary<string, string>(base.Config) { ["classes"] = $"{ConditionWidth}" };

    /// <summary>The one-hot classes [rows, 10] of the images (or, to generate, of the wanted samples) of the next call.</summary>
    public void UseTargets(Tensor targets) => Condition = targets;
}
