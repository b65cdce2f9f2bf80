using GpuAe.Kernels;

namespace GpuAe.Nets;

/// <summary>
/// The VAE: encoder 784→256 ReLU→(μ, log σ²) of D dimensions each (one dense layer, μ in its first D outputs),
/// z = μ + σ·ε with ε ~ N(0, I) drawn on the device from (seed, step), decoder D→256 ReLU→784 sigmoid.
/// Loss per image = BCE summed over pixels + klWeight·KL(q(z|x) ‖ N(0, I)), averaged over the batch, where
/// klWeight = β, ramped linearly from 0 over the warm-up steps. Same layers, kernels and trainer as the AE.
/// </summary>
public sealed class VariationalAutoencoder : IModel
{
    readonly IBackend _backend;
    readonly DenseLayer _enc0, _enc2, _dec0, _dec2;
    // Per-batch buffers, allocated once: [MaxRows, width].
    readonly Tensor _hidden1, _enc, _noise, _z, _hidden2, _logits;
    readonly Tensor _dHidden1, _dEnc, _dz, _dHidden2, _dLogits;
    readonly Tensor _rowBce, _rowSquaredError, _rowKl, _zeroNoise;
    ulong _seed;

    public string Kind => "vae";
    public ParameterSet Parameters { get; } = new();
    public int Features { get; }
    public int MaxRows { get; }
    public int Hidden { get; }
    public int Latent { get; }
    public float Beta { get; }
    public long WarmupSteps { get; }
    public IReadOnlyDictionary<string, string> Config => new Dictionary<string, string>
    {
        ["model"] = Kind, ["features"] = $"{Features}", ["hidden"] = $"{Hidden}", ["latent"] = $"{Latent}",
        ["beta"] = Beta.ToString("R", System.Globalization.CultureInfo.InvariantCulture), ["warmup_steps"] = $"{WarmupSteps}",
    };

    public VariationalAutoencoder(IBackend backend, int maxRows, int latent = 2, float beta = 1f, long warmupSteps = 0,
        int features = 784, int hidden = 256)
    {
        _backend = backend;
        MaxRows = maxRows;
        Features = features;
        Hidden = hidden;
        Latent = latent;
        Beta = beta;
        WarmupSteps = warmupSteps;
        _enc0 = new DenseLayer(Parameters, "encoder.0", features, hidden, Activation.Relu);
        _enc2 = new DenseLayer(Parameters, "encoder.2", hidden, 2 * latent, Activation.None); // μ and log σ²
        _dec0 = new DenseLayer(Parameters, "decoder.0", latent, hidden, Activation.Relu);
        _dec2 = new DenseLayer(Parameters, "decoder.2", hidden, features, Activation.None); // sigmoid fused into the loss
        Parameters.Allocate(backend);

        _hidden1 = backend.Allocate(maxRows * hidden); _dHidden1 = backend.Allocate(maxRows * hidden);
        _enc = backend.Allocate(maxRows * 2 * latent); _dEnc = backend.Allocate(maxRows * 2 * latent);
        _noise = backend.Allocate(maxRows * latent); _zeroNoise = backend.Allocate(maxRows * latent);
        _z = backend.Allocate(maxRows * latent); _dz = backend.Allocate(maxRows * latent);
        _hidden2 = backend.Allocate(maxRows * hidden); _dHidden2 = backend.Allocate(maxRows * hidden);
        _logits = backend.Allocate(maxRows * features); _dLogits = backend.Allocate(maxRows * features);
        _rowBce = backend.Allocate(maxRows); _rowSquaredError = backend.Allocate(maxRows); _rowKl = backend.Allocate(maxRows);
    }

    public void Initialise(ulong seed)
    {
        _seed = seed;
        Parameters.Initialise(_backend, seed);
    }

    /// <summary>The noise seed, restored with a checkpoint (weights loaded without Initialise).</summary>
    public ulong Seed { get => _seed; set => _seed = value; }

    /// <summary>β during the KL warm-up: linear from β/warmupSteps at step 1 to β at the last warm-up step.</summary>
    public float KlWeight(long step) => WarmupSteps <= 0 ? Beta : Beta * (float)Math.Min(1.0, (double)step / WarmupSteps);

    void Encode(Tensor x, int rows)
    {
        _enc0.Forward(_backend, x, _hidden1, rows);
        _enc2.Forward(_backend, _hidden1, _enc, rows);
    }

    /// <summary>Decodes z[rows, D] to logits and scores them against x.</summary>
    void DecodeAndScore(Tensor x, int rows)
    {
        _dec0.Forward(_backend, _z, _hidden2, rows);
        _dec2.Forward(_backend, _hidden2, _logits, rows);
        _backend.SigmoidBce(_logits, x, _dLogits, _rowBce, _rowSquaredError, rows, Features, 1f / rows);
    }

    public void TrainStep(Tensor x, int rows, long step, Tensor accumulator)
    {
        float klWeight = KlWeight(step);
        Encode(x, rows);
        _backend.NormalNoise(_noise.Slice(0, rows * Latent), _seed, step);
        _backend.Reparameterize(_enc, _noise, _z, rows, Latent);
        DecodeAndScore(x, rows);
        _dec2.Backward(_backend, _hidden2, _dLogits, _dHidden2, _hidden2, rows);
        _dec0.Backward(_backend, _z, _dHidden2, _dz, null, rows);
        _backend.ReparameterizeBackward(_enc, _noise, _dz, _dEnc, _rowKl, rows, Latent, klWeight / rows);
        _enc2.Backward(_backend, _hidden1, _dEnc, _dHidden1, _hidden1, rows);
        _enc0.Backward(_backend, x, _dHidden1, null, null, rows);
        _backend.AccumulateSum(_rowBce, rows, accumulator, (int)Slot.TrainLoss);
        _backend.AccumulateSum(_rowKl, rows, accumulator, (int)Slot.TrainLoss, klWeight);
    }

    /// <summary>Scores reconstructions decoded from z = μ (zero noise), and the KL of q(z|x).</summary>
    public void Evaluate(Tensor x, int rows, Tensor accumulator)
    {
        Encode(x, rows);
        _backend.Reparameterize(_enc, _zeroNoise, _z, rows, Latent);
        DecodeAndScore(x, rows);
        _backend.KlRows(_enc, _rowKl, rows, Latent);
        _backend.AccumulateSum(_rowBce, rows, accumulator, (int)Slot.Bce);
        _backend.AccumulateSum(_rowKl, rows, accumulator, (int)Slot.Kl);
        _backend.AccumulateSum(_rowSquaredError, rows, accumulator, (int)Slot.SquaredError);
    }

    public void Reconstruct(Tensor x, int rows, Tensor output)
    {
        Encode(x, rows, _z);
        Decode(_z, rows, output);
    }

    public int LatentSize => Latent;

    /// <summary>μ of q(z|x): the reparameterisation with zero noise copies it out of the encoder's [μ, log σ²] rows.</summary>
    public void Encode(Tensor x, int rows, Tensor latent)
    {
        Encode(x, rows);
        _backend.Reparameterize(_enc, _zeroNoise, latent, rows, Latent);
    }

    public void Decode(Tensor latent, int rows, Tensor images)
    {
        _dec0.Forward(_backend, latent, _hidden2, rows);
        _dec2.Forward(_backend, _hidden2, _logits, rows);
        _backend.Sigmoid(_logits.Slice(0, rows * Features), images.Slice(0, rows * Features));
    }

    /// <summary>Adds Σ_rows of the k-sample IWAE bound to accumulator[slot]. Sample s uses noise (seed, stream s), so
    /// the bound is reproducible; logWeights must hold k·rows floats.</summary>
    public void ImportanceWeightedBound(Tensor x, int rows, int samples, ulong seed, Tensor logWeights, Tensor accumulator, int slot)
    {
        Encode(x, rows);
        for (int s = 0; s < samples; s++)
        {
            _backend.NormalNoise(_noise.Slice(0, rows * Latent), seed, s);
            _backend.Reparameterize(_enc, _noise, _z, rows, Latent);
            DecodeAndScore(x, rows);
            _backend.ImportanceLogWeights(_enc, _noise, _z, _rowBce, logWeights, s, rows, Latent);
        }
        _backend.NegativeLogMeanExp(logWeights, samples, rows, _rowKl); // _rowKl reused as the per-row bound
        _backend.AccumulateSum(_rowKl, rows, accumulator, slot);
    }
}
