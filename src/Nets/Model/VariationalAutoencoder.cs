using System.Globalization;
using GpuAe.Kernels;

namespace GpuAe.Nets.Model;

/// <summary>
/// The VAE: encoder 784→256 ReLU→(μ, log σ²) of D dimensions each (one dense layer, μ in its first D outputs),
/// z = μ + σ·ε with ε ~ N(0, I) drawn on the device from (seed, step), decoder D→256 ReLU→784 sigmoid.
/// Loss per image = BCE summed over pixels + klWeight·KL(q(z|x) ‖ N(0, I)), averaged over the batch, where
/// klWeight = β, ramped linearly from 0 over the warm-up steps. Same layers, kernels and trainer as the AE; with
/// <see cref="Architecture.Conv"/> the convolutional encoder and decoder (conv-vae).
/// </summary>
public class VariationalAutoencoder : AutoencoderBase
{
    // Noise and latent [decodedPerImage·MaxRows, D], the latent's gradient [MaxRows, D]; zero noise turns the
    // reparameterisation into "copy μ".
    readonly Tensor _noise, _zeroNoise, _z, _dz, _rowKl;

    public override ModelKind Kind => Architecture == Architecture.Conv ? ModelKind.ConvVae : ModelKind.Vae;
    public int Latent { get; }
    public float Beta { get; }
    public long WarmupSteps { get; }
    /// <summary>The noise seed: set by Initialise, restored from a checkpoint's metadata.</summary>
    public ulong Seed { get; set; }
    public override int LatentSize => Latent;
    public override IReadOnlyDictionary<string, string> Config => new Dictionary<string, string>(BaseConfig())
    {
        ["latent"] = $"{Latent}", ["beta"] = Beta.ToString("R", CultureInfo.InvariantCulture), ["warmup_steps"] = $"{WarmupSteps}",
    };
    protected override Tensor ReconstructionLatent => _z;

    /// <param name="samplesPerPass">samples of the IWAE bound the decoder takes in one pass (its buffers hold as many
    /// batches of rows); by default <see cref="DenseSamplesPerPass"/> for the dense VAE, 1 for the conv one.</param>
    public VariationalAutoencoder(IBackend backend, int maxRows, int latent = 2, float beta = 1f, long warmupSteps = 0,
        int features = 784, int hidden = 256, Architecture architecture = Architecture.Dense, int? samplesPerPass = null)
        : this(backend, maxRows, latent, beta, warmupSteps, features, hidden, architecture, conditionWidth: 0,
            decodedPerImage: samplesPerPass ?? (architecture == Architecture.Dense ? DenseSamplesPerPass : 1)) { }

    /// <summary>The dense VAE's IWAE samples decoded in one pass: its 128 × 256 → 784 product then has 1,024 rows. Measured
    /// on the 2-core AMD EPYC VM (Zen 5), that product and the BCE of its rows per 128 rows: 160–186 μs with 128 rows,
    /// 143–147 μs with 1,024 or 2,048 (the GEMM 367–401 → 450–461 GFLOP/s). The decoder's buffers grow by about 10 MB.
    /// The conv VAE keeps one sample a pass: its transposed convolutions' column buffers (29 MB for 128 images) would
    /// grow as much.</summary>
    public const int DenseSamplesPerPass = 8;

    /// <param name="decodedPerImage">latents decoded per image in one pass: <see cref="Latents"/> holds as many rows per
    /// image (the VAE-GAN's z ~ q(z|x) and z ~ N(0, I)).</param>
    /// <param name="moreParameters">the derived model declares parameters of its own after the decoder's and then allocates
    /// the parameter set (the VAE-GAN's discriminator).</param>
    protected VariationalAutoencoder(IBackend backend, int maxRows, int latent, float beta, long warmupSteps,
        int features, int hidden, Architecture architecture, int conditionWidth, int decodedPerImage = 1, bool moreParameters = false)
        : base(backend, architecture, maxRows, features, hidden, 2 * latent, Activation.None, latent, conditionWidth, decodedPerImage, moreParameters)
    {
        Latent = latent;
        Beta = beta;
        WarmupSteps = warmupSteps;
        _noise = backend.Allocate(decodedPerImage * maxRows * latent); _zeroNoise = backend.Allocate(maxRows * latent);
        _z = backend.Allocate(decodedPerImage * maxRows * latent); _dz = backend.Allocate(maxRows * latent);
        _rowKl = backend.Allocate(maxRows);
    }

    public override void Initialise(ulong seed)
    {
        Seed = seed;
        base.Initialise(seed);
    }

    /// <summary>β during the KL warm-up: linear from β/warmupSteps at step 1 to β at the last warm-up step.</summary>
    public float KlWeight(long step) => WarmupSteps <= 0 ? Beta : Beta * (float)Math.Min(1.0, (double)step / WarmupSteps);

    protected override (float KlWeight, ulong Seed) NoiseOfStep(long step) => (KlWeight(step), Seed);

    /// <summary>The KL weight stops changing at the warm-up's last step (see <see cref="KlWeight"/>).</summary>
    public override long FixedLaunchesFromStep => Math.Max(1, WarmupSteps);

    public override void TrainStep(Tensor x, int rows, StepValue step, Tensor accumulator)
    {
        float klWeight = KlWeight(step.Value);
        RunEncoder(x, rows, EncoderOutput);
        SampleLatent(rows, Seed, step);
        DecodeAndScore(_z, x, rows);
        BackwardDecoder(_z, _dz, latentIsRelu: false, rows);
        BackwardThroughSampling(x, rows, klWeight);
        Backend.AccumulateSum(RowBce, rows, accumulator, (int)Slot.TrainLoss);
        Backend.AccumulateSum(_rowKl, rows, accumulator, (int)Slot.TrainLoss, klWeight);
    }

    /// <summary>The encoder's gradients of (the loss whose gradient at z is in <see cref="DLatents"/>) + klWeight·KL,
    /// averaged over the rows, through the reparameterisation of the last <see cref="SampleLatent"/>; <see cref="RowKl"/>
    /// gets each row's KL.</summary>
    protected void BackwardThroughSampling(Tensor x, int rows, float klWeight)
    {
        Backend.ReparameterizeBackward(EncoderOutput, _noise, _dz, DEncoderOutput, _rowKl, rows, Latent, klWeight / rows);
        BackwardEncoder(x, rows);
    }

    /// <summary>The latents the decoder takes, [decodedPerImage·MaxRows, D]: z ~ q(z|x) in the first rows.</summary>
    protected Tensor Latents => _z;
    /// <summary>The loss's gradient at z, [MaxRows, D], that <see cref="BackwardThroughSampling"/> reads.</summary>
    protected Tensor DLatents => _dz;
    /// <summary>KL(q(z|x) ‖ N(0, I)) per row, from the last <see cref="BackwardThroughSampling"/>.</summary>
    protected Tensor RowKl => _rowKl;

    /// <summary>The seed of the fixed evaluation noise: the same for every model, run and device, apart from the
    /// training noise (keyed by the run's seed).</summary>
    public const ulong EvaluationSeed = 0x4556_414C_5541_5445UL; // "EVALUATE"

    /// <summary>The noise stream of evaluation sample <paramref name="sample"/> of the images starting at row
    /// <paramref name="firstRow"/> of the evaluated set: every image and sample gets its own normal numbers, and the
    /// sampled ELBO's noise is the IWAE bound's first sample.</summary>
    public static long EvaluationStep(int sample, int firstRow) => ((long)sample << 32) + firstRow;

    /// <summary>The test numbers of a VAE: Bce is the ELBO's reconstruction term estimated with one z ~ q(z|x) per image
    /// (fixed evaluation noise, see <see cref="EvaluationStep"/>), Kl is KL(q(z|x) ‖ N(0, I)) in closed form, so
    /// Bce + Kl is the sampled negative ELBO; BceMu and SquaredError score the reconstruction decoded from z = μ.</summary>
    public override void Evaluate(Tensor x, int rows, int firstRow, Tensor accumulator)
    {
        Encode(x, rows, _z);
        DecodeAndScore(_z, x, rows);
        Backend.KlRows(EncoderOutput, _rowKl, rows, Latent);
        Backend.AccumulateSum(RowBce, rows, accumulator, (int)Slot.BceMu);
        Backend.AccumulateSum(_rowKl, rows, accumulator, (int)Slot.Kl);
        Backend.AccumulateSum(RowSquaredError, rows, accumulator, (int)Slot.SquaredError);
        SampleLatent(rows, EvaluationSeed, EvaluationStep(0, firstRow));
        DecodeAndScoreLoss(_z, x, rows);
        Backend.AccumulateSum(RowBce, rows, accumulator, (int)Slot.Bce);
    }

    /// <summary>z = μ + σ·ε from the encoder output already computed, ε from (seed, step), into the rows of
    /// <see cref="Latents"/> (and of the noise) that <paramref name="block"/> of <paramref name="rows"/> rows starts at.</summary>
    protected void SampleLatent(int rows, ulong seed, StepValue step, int block = 0)
    {
        int length = rows * Latent;
        var noise = _noise.Slice(block * length, length);
        Backend.NormalNoise(noise, seed, step);
        Backend.Reparameterize(EncoderOutput, noise, _z.Slice(block * length, length), rows, Latent);
    }

    /// <summary>μ of q(z|x): the reparameterisation with zero noise copies it out of the encoder's [μ, log σ²] rows.</summary>
    public override void Encode(Tensor x, int rows, Tensor latent)
    {
        RunEncoder(x, rows, EncoderOutput);
        Backend.Reparameterize(EncoderOutput, _zeroNoise, latent, rows, Latent);
    }

    /// <summary>Adds Σ_rows of the k-sample IWAE bound to accumulator[slot]. Sample s uses the fixed evaluation noise
    /// (<see cref="EvaluationStep"/>), so the bound is reproducible and its first sample is the sampled ELBO's;
    /// logWeights must hold k·rows floats. As many samples as the decoder holds rows for are decoded in one pass (an
    /// unconditional model's: a conditional one's condition is one row per image); each row's numbers are the same
    /// whichever pass decodes it.</summary>
    public void ImportanceWeightedBound(Tensor x, int rows, int firstRow, int samples, Tensor logWeights, Tensor accumulator, int slot)
    {
        RunEncoder(x, rows, EncoderOutput);
        int perPass = ConditionWidth > 0 ? 1 : Math.Max(1, DecoderRows / rows), length = rows * Latent;
        for (int first = 0; first < samples; first += perPass)
        {
            int count = Math.Min(perPass, samples - first);
            for (int b = 0; b < count; b++) SampleLatent(rows, EvaluationSeed, EvaluationStep(first + b, firstRow), b);
            DecodeLogits(_z, count * rows);
            for (int b = 0; b < count; b++)
            {
                Backend.BceRows(Logits.Slice(b * rows * Features, rows * Features), x, RowBce, rows, Features);
                Backend.ImportanceLogWeights(EncoderOutput, _noise.Slice(b * length, length), _z.Slice(b * length, length), RowBce, logWeights,
                    first + b, rows, Latent);
            }
        }
        Backend.NegativeLogMeanExp(logWeights, samples, rows, _rowKl); // _rowKl reused as the per-row bound
        Backend.AccumulateSum(_rowKl, rows, accumulator, slot);
    }
}
