using GpuAe.Kernels;

namespace GpuAe.Nets;

/// <summary>
/// What the AE and the VAE share: encoder features→hidden (ReLU)→encoder output, decoder latent→hidden (ReLU)→features
/// (sigmoid, fused into the loss), with PyTorch's nn.Sequential names (encoder.0, encoder.2, decoder.0, decoder.2),
/// and every activation buffer allocated once for MaxRows rows. The models differ only between encoder output and
/// latent: the AE's code is its encoder output; the VAE samples z from (μ, log σ²).
/// </summary>
public abstract class DenseAutoencoder : IModel
{
    protected readonly IBackend Backend;
    readonly DenseLayer _enc0, _enc2, _dec0, _dec2;
    // [MaxRows, width] activations and their gradients.
    readonly Tensor _hidden1, _hidden2, _logits, _dHidden1, _dHidden2, _dLogits;
    protected readonly Tensor EncoderOutput, DEncoderOutput, RowBce, RowSquaredError;

    public abstract string Kind { get; }
    public abstract IReadOnlyDictionary<string, string> Config { get; }
    public abstract int LatentSize { get; }
    public ParameterSet Parameters { get; } = new();
    public int Features { get; }
    public int MaxRows { get; }
    public int Hidden { get; }

    protected DenseAutoencoder(IBackend backend, int maxRows, int features, int hidden, int encoderOutput, Activation encoderActivation, int latent)
    {
        Backend = backend;
        MaxRows = maxRows;
        Features = features;
        Hidden = hidden;
        _enc0 = new DenseLayer(Parameters, "encoder.0", features, hidden, Activation.Relu);
        _enc2 = new DenseLayer(Parameters, "encoder.2", hidden, encoderOutput, encoderActivation);
        _dec0 = new DenseLayer(Parameters, "decoder.0", latent, hidden, Activation.Relu);
        _dec2 = new DenseLayer(Parameters, "decoder.2", hidden, features, Activation.None);
        Parameters.Allocate(backend);
        _hidden1 = backend.Allocate(maxRows * hidden); _dHidden1 = backend.Allocate(maxRows * hidden);
        _hidden2 = backend.Allocate(maxRows * hidden); _dHidden2 = backend.Allocate(maxRows * hidden);
        _logits = backend.Allocate(maxRows * features); _dLogits = backend.Allocate(maxRows * features);
        EncoderOutput = backend.Allocate(maxRows * encoderOutput); DEncoderOutput = backend.Allocate(maxRows * encoderOutput);
        RowBce = backend.Allocate(maxRows); RowSquaredError = backend.Allocate(maxRows);
    }

    public virtual void Initialise(ulong seed) => Parameters.Initialise(Backend, seed);

    public abstract void TrainStep(Tensor x, int rows, long step, Tensor accumulator);
    public abstract void Evaluate(Tensor x, int rows, Tensor accumulator);
    public abstract void Encode(Tensor x, int rows, Tensor latent);

    /// <summary>The encoder's output for x[rows] into <paramref name="output"/> (normally EncoderOutput).</summary>
    protected void RunEncoder(Tensor x, int rows, Tensor output)
    {
        _enc0.Forward(Backend, x, _hidden1, rows);
        _enc2.Forward(Backend, _hidden1, output, rows);
    }

    /// <summary>Decodes latent[rows] to logits and scores them against x: RowBce, RowSquaredError and the logits'
    /// gradient of the batch-mean loss.</summary>
    protected void DecodeAndScore(Tensor latent, Tensor x, int rows)
    {
        _dec0.Forward(Backend, latent, _hidden2, rows);
        _dec2.Forward(Backend, _hidden2, _logits, rows);
        Backend.SigmoidBce(_logits, x, _dLogits, RowBce, RowSquaredError, rows, Features, 1f / rows);
    }

    /// <summary>Decoder gradients, and dLatent (masked by the latent itself when it came out of a ReLU).</summary>
    protected void BackwardDecoder(Tensor latent, Tensor dLatent, bool latentIsRelu, int rows)
    {
        _dec2.Backward(Backend, _hidden2, _dLogits, _dHidden2, _hidden2, rows);
        _dec0.Backward(Backend, latent, _dHidden2, dLatent, latentIsRelu ? latent : null, rows);
    }

    /// <summary>Encoder gradients from DEncoderOutput.</summary>
    protected void BackwardEncoder(Tensor x, int rows)
    {
        _enc2.Backward(Backend, _hidden1, DEncoderOutput, _dHidden1, _hidden1, rows);
        _enc0.Backward(Backend, x, _dHidden1, null, null, rows);
    }

    public void Decode(Tensor latent, int rows, Tensor images)
    {
        _dec0.Forward(Backend, latent, _hidden2, rows);
        _dec2.Forward(Backend, _hidden2, _logits, rows);
        Backend.Sigmoid(_logits.Slice(0, rows * Features), images.Slice(0, rows * Features));
    }

    /// <summary>Reconstructions: the deterministic latent (AE code, VAE μ), decoded.</summary>
    public void Reconstruct(Tensor x, int rows, Tensor output)
    {
        Encode(x, rows, ReconstructionLatent);
        Decode(ReconstructionLatent, rows, output);
    }

    /// <summary>Where <see cref="Reconstruct"/> puts the latent between encoder and decoder.</summary>
    protected abstract Tensor ReconstructionLatent { get; }
}
