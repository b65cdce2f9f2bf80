using System.Globalization;
using GpuAe.Kernels;
using GpuAe.Nets.Checkpoints;

namespace GpuAe.Nets.Model;

/// <summary>
/// The VAE-GAN's knobs. Gamma (γ) weighs the reconstruction against fooling the discriminator in the decoder's loss
/// γ·L_llike − L_GAN. The learning rates are Adam's, one per part.
/// </summary>
/// <remarks>Defaults and their sources, the authors' code (andersbll/autoencoding_beyond_pixels). Learning rates: 3·10⁻⁴
/// for every part, the rate its training starts at (aegan.py: RMSProp at lr_start 0.02 divided by the batch of 64,
/// annealed from there); Adam here, as for every model of this program, without the annealing. γ: model/aegan.py
/// weighs the decoder's two gradients as w·L_llike − (1 − w)·L_GAN with w = recon_vs_gan_weight, which is
/// γ·L_llike − L_GAN with γ = w / (1 − w); its model's default w = 10⁻² gives γ ≈ 10⁻² (its CelebA script uses 10⁻⁵,
/// for a Dis_l of 256×8×8 features).</remarks>
public sealed record AdversarialSettings(float Gamma = AdversarialSettings.DefaultGamma, float EncoderRate = AdversarialSettings.DefaultRate,
    float DecoderRate = AdversarialSettings.DefaultRate, float DiscriminatorRate = AdversarialSettings.DefaultRate)
{
    public const float DefaultGamma = 1e-2f, DefaultRate = 3e-4f;

    /// <summary>Their entries of a checkpoint's metadata (see <see cref="VaeGan.Config"/>).</summary>
    public IEnumerable<KeyValuePair<string, string>> Config =>
    [
        new("gamma", Text(Gamma)), new("lr_encoder", Text(EncoderRate)), new("lr_decoder", Text(DecoderRate)), new("lr_discriminator", Text(DiscriminatorRate)),
    ];

    static string Text(float value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>The settings a checkpoint's metadata holds.</summary>
    public static AdversarialSettings Of(IReadOnlyDictionary<string, string> metadata, string path) => new(Checkpoint.GetFloat(metadata, "gamma", path),
        Checkpoint.GetFloat(metadata, "lr_encoder", path), Checkpoint.GetFloat(metadata, "lr_decoder", path), Checkpoint.GetFloat(metadata, "lr_discriminator", path));
}

/// <summary>
/// The VAE-GAN of Larsen et al. (2016), "Autoencoding beyond pixels using a learned similarity metric": the conv-VAE's
/// encoder (μ, log σ²) and decoder, the decoder also the generator of a GAN, and a convolutional discriminator
/// Dis: 28×28×1 → conv 3×3/2 → 14×14×32, leaky ReLU → conv 3×3/2 → 7×7×64 = Dis_l → leaky ReLU → dense → one logit
/// (PyTorch's names: discriminator.0, .2 and .5). Dis_l, the features the reconstruction is measured in, is the second
/// convolution's output before its activation, as both reference implementations take theirs (before batch
/// normalisation and ReLU). The discriminator has the conv-VAE encoder's shape, for 28×28 images: smaller than the
/// paper's for 64×64 faces (four 5×5 convolutions with batch normalisation, a 512-unit layer), without batch
/// normalisation, hence leaky ReLUs.
/// <para>Per image, with x_r (the paper's x-tilde: the reconstruction) decoded from z ~ q(z|x) and x_p from z_p ~ N(0, I):
/// L_prior = KL(q(z|x) ‖ N(0, I)); L_llike = ½‖Dis_l(x_r) − Dis_l(x)‖², the negative log-likelihood of Dis_l(x) under a
/// Gaussian N(Dis_l(x_r), I) without its constant; L_GAN = −[log D(x) + log(1 − D(x_r)) + log(1 − D(x_p))], the
/// discriminator's cross-entropy with label 1 for x and 0 for x_r and x_p (the paper writes L_GAN as the log-likelihood,
/// the negative of this; its Algorithm 1 then reads as below). Each part descends its own loss, averaged over the batch:</para>
/// <list type="bullet">
/// <item>encoder: β·L_prior + L_llike (no adversarial term: the paper, and the authors' code, which zero the GAN's
/// gradient at z);</item>
/// <item>decoder: γ·L_llike − L_GAN (the paper's minimax form: it ascends the discriminator's loss on x_r and x_p);</item>
/// <item>discriminator: L_GAN (it is not trained on L_llike, though L_llike is measured in its features).</item>
/// </list>
/// Each part's gradient comes from a backward pass of its own, and the passes through the parts that a loss does not
/// train write none of their gradients (<see cref="Sequential.BackwardInput"/>): that is the whole routing. The step
/// writes every part's gradient from one forward pass (the paper's Algorithm 1: all parts updated together), and the
/// trainer updates each part with its own learning rate (<see cref="IPartedModel"/>). The evaluation, reconstructions,
/// IWAE bound and prior samples are the VAE's.
/// </summary>
public sealed class VaeGan : VariationalAutoencoder, IPartedModel
{
    /// <summary>The discriminator's leaky ReLU slope (Radford et al., 2016, DCGAN's).</summary>
    public const float LeakSlope = 0.2f;
    /// <summary>Width of Dis_l per image: 7×7×64.</summary>
    public const int FeatureWidth = 7 * 7 * 64;

    /// <summary>Keeps the prior's training draws z_p apart from the reparameterisation's noise of the same step.</summary>
    const ulong PriorNoise = 0x5052_494F_525A_0000UL; // "PRIORZ"

    readonly Sequential _featureLayers, _head;          // image → Dis_l, Dis_l → logit
    readonly Tensor _images, _dImages;                   // [3·MaxRows, Features]: x_r, x_p and x stacked; the gradient at x_r and x_p
    readonly Tensor _features, _dFeatures, _dLlike;      // Dis_l of the stack and its gradient [3·MaxRows, FeatureWidth]; L_llike's at x_r [MaxRows, …]
    readonly Tensor _scores, _dScores, _dGenerated;      // [3·MaxRows] logits of D; L_GAN's gradient at them; −L_GAN's at the generated ones
    readonly Tensor _rowGan, _rowSquares, _rowLlike, _probabilities, _correct; // per row of the stack (or of the batch: _rowLlike)
    readonly Tensor _generatedLabels, _realLabels;       // 0 for 2·MaxRows generated images, 1 for MaxRows real ones

    public AdversarialSettings Settings { get; }
    public IReadOnlyList<ModelPart> Parts { get; }
    public override ModelKind Kind => ModelKind.VaeGanKind;
    public override IReadOnlyDictionary<string, string> Config => new Dictionary<string, string>(base.Config.Concat(Settings.Config));

    public VaeGan(IBackend backend, int maxRows, int latent, float beta, long warmupSteps, AdversarialSettings settings)
        : base(backend, maxRows, latent, beta, warmupSteps, features: 784, hidden: 256, Architecture.Conv, conditionWidth: 0, decodedPerImage: 2,
            moreParameters: true)
    {
        Settings = settings;
        int stack = 3 * maxRows;
        var full = new ConvGeometry(28, 28, 1, Kernel: 3, Stride: 2, Padding: 1);  // 28×28×1  → 14×14×32
        var half = new ConvGeometry(14, 14, 32, Kernel: 3, Stride: 2, Padding: 1); // 14×14×32 → 7×7×64 (Dis_l)
        _featureLayers = new Sequential(backend, stack,
            new ConvLayer(Parameters, "discriminator.0", full, 32, Activation.None, backend, stack),
            new LeakyReluLayer(full.OutPixels * 32, LeakSlope),
            new ConvLayer(Parameters, "discriminator.2", half, 64, Activation.None, backend, stack));
        _head = new Sequential(backend, stack,
            new LeakyReluLayer(FeatureWidth, LeakSlope),
            new DenseLayer(Parameters, "discriminator.5", FeatureWidth, 1, Activation.None));
        Parameters.Allocate(backend);
        Parts = [ModelPart.Named(Parameters, "encoder", settings.EncoderRate), ModelPart.Named(Parameters, "decoder", settings.DecoderRate),
            ModelPart.Named(Parameters, "discriminator", settings.DiscriminatorRate)];

        _images = backend.Allocate(stack * Features); _dImages = backend.Allocate(2 * maxRows * Features);
        _features = backend.Allocate(stack * FeatureWidth); _dFeatures = backend.Allocate(stack * FeatureWidth); _dLlike = backend.Allocate(maxRows * FeatureWidth);
        _scores = backend.Allocate(stack); _dScores = backend.Allocate(stack); _dGenerated = backend.Allocate(2 * maxRows);
        _rowGan = backend.Allocate(stack); _rowSquares = backend.Allocate(stack); _rowLlike = backend.Allocate(maxRows);
        _probabilities = backend.Allocate(stack); _correct = backend.Allocate(stack);
        _generatedLabels = backend.Allocate(2 * maxRows); _realLabels = backend.Allocate(maxRows);
        backend.Fill(_realLabels, 1f);
    }

    /// <summary>The seed of the prior's draws z_p during training.</summary>
    ulong PriorSeed => Seed ^ PriorNoise;

    public override void TrainStep(Tensor x, int rows, StepValue step, Tensor accumulator)
    {
        int n = rows, generated = 2 * rows, stack = 3 * rows;
        float klWeight = KlWeight(step.Value);
        // The stack's rows: x_r in [0, n), x_p in [n, 2n), x in [2n, 3n); Generated and Real slice a per-row tensor.
        Tensor Generated(Tensor t, int width = 1) => t.Slice(0, generated * width);
        Tensor Real(Tensor t, int width = 1) => t.Slice(generated * width, n * width);

        // Forward: z ~ q(z|x) and z_p ~ N(0, I) decoded in one pass into x_r and x_p; the discriminator sees [x_r; x_p; x].
        RunEncoder(x, n, EncoderOutput);
        SampleLatent(n, Seed, step);
        Backend.NormalNoise(Latents.Slice(n * Latent, n * Latent), PriorSeed, step);
        DecodeLogits(Latents, generated);
        Backend.Sigmoid(Generated(Logits, Features), Generated(_images, Features));
        Backend.CopyColumns(x, Real(_images, Features), new ColumnCopy(n, Features, Features, 0, Features, 0));
        _featureLayers.Forward(Backend, _images, _features, stack);
        _head.Forward(Backend, _features, _scores, stack);

        // The losses. L_GAN: the stable sigmoid cross-entropy of D's logits, label 0 for x_r and x_p, 1 for x, and its
        // gradient at the logits. L_llike: ½‖Dis_l(x_r) − Dis_l(x)‖² and its gradient at Dis_l(x_r).
        Backend.SigmoidBce(Generated(_scores), _generatedLabels, Generated(_dScores), Generated(_rowGan), Generated(_rowSquares), generated, 1, 1f / n);
        Backend.SigmoidBce(Real(_scores), _realLabels, Real(_dScores), Real(_rowGan), Real(_rowSquares), n, 1, 1f / n);
        Backend.HalfSquaredError(_features.Slice(0, n * FeatureWidth), Real(_features, FeatureWidth), _dLlike, _rowLlike, n, FeatureWidth, 1f / n);

        // The encoder: β·L_prior + L_llike, carried back through Dis_l and the decoder, which it does not train.
        _featureLayers.BackwardInput(Backend, _images, _dLlike, _dImages, null, n);
        Backend.SigmoidBackward(_images.Slice(0, n * Features), _dImages.Slice(0, n * Features), DLogits.Slice(0, n * Features));
        BackwardDecoderLogits(Latents, DLatents, n, trainDecoder: false);
        BackwardThroughSampling(x, n, klWeight);

        // The decoder: γ·L_llike − L_GAN, carried back through the discriminator, which it does not train. −L_GAN's
        // gradient at the generated images' logits is the cross-entropy's, negated (gradient scale −1/n); the per-row
        // numbers this writes again are not kept.
        Backend.SigmoidBce(Generated(_scores), _generatedLabels, _dGenerated, Generated(_rowSquares), Generated(_rowSquares), generated, 1, -1f / n);
        _head.BackwardInput(Backend, _features, _dGenerated, _dFeatures, null, generated);
        Backend.AddScaled(_dLlike, _dFeatures.Slice(0, n * FeatureWidth), Settings.Gamma);
        _featureLayers.BackwardInput(Backend, _images, _dFeatures, _dImages, null, generated);
        Backend.SigmoidBackward(Generated(_images, Features), Generated(_dImages, Features), Generated(DLogits, Features));
        BackwardDecoderLogits(Latents, null, generated, trainDecoder: true);

        // The discriminator: L_GAN over the whole stack.
        _head.Backward(Backend, _features, _dScores, _dFeatures, null, stack);
        _featureLayers.Backward(Backend, _images, _dFeatures, null, null, stack);

        // The epoch's numbers: the encoder's loss is the train loss (the one the NaN watch reads).
        Backend.AccumulateSum(_rowLlike, n, accumulator, (int)Slot.TrainLoss);
        Backend.AccumulateSum(RowKl, n, accumulator, (int)Slot.TrainLoss, klWeight);
        Backend.AccumulateSum(_rowLlike, n, accumulator, (int)Slot.FeatureError);
        Backend.AccumulateSum(_rowGan, stack, accumulator, (int)Slot.DiscriminatorLoss);
        Backend.AccumulateSum(_rowGan, generated, accumulator, (int)Slot.GeneratorLoss, -1f);
        Backend.Sigmoid(_scores.Slice(0, stack), _probabilities.Slice(0, stack));
        Backend.AccumulateSum(_probabilities, n, accumulator, (int)Slot.DReconstructed);
        Backend.AccumulateSum(_probabilities.Slice(n, n), n, accumulator, (int)Slot.DPrior);
        Backend.AccumulateSum(Real(_probabilities), n, accumulator, (int)Slot.DReal);
        Backend.BinaryCorrect(Generated(_scores), _generatedLabels, Generated(_correct));
        Backend.BinaryCorrect(Real(_scores), _realLabels, Real(_correct));
        Backend.AccumulateSum(_correct, generated, accumulator, (int)Slot.CorrectGenerated);
        Backend.AccumulateSum(Real(_correct), n, accumulator, (int)Slot.CorrectReal);
    }
}
