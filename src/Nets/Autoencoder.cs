using GpuAe.Kernels;

namespace GpuAe.Nets;

/// <summary>
/// The original notebook's dense AE: 784→256 ReLU→32 (ReLU, or linear)→256 ReLU→784 sigmoid, trained on BCE summed
/// over pixels and averaged over the batch. Parameter names follow PyTorch's nn.Sequential state dict:
/// encoder.0, encoder.2, decoder.0, decoder.2.
/// </summary>
public sealed class Autoencoder : IModel
{
    readonly IBackend _backend;
    readonly DenseLayer _enc0, _enc2, _dec0, _dec2;
    // Activations and their gradients for one batch, allocated once: [MaxRows, width].
    readonly Tensor _hidden1, _code, _hidden2, _logits;
    readonly Tensor _dHidden1, _dCode, _dHidden2, _dLogits;
    readonly Tensor _rowBce, _rowSquaredError;

    public string Kind => "ae";
    public ParameterSet Parameters { get; } = new();
    public int Features { get; }
    public int MaxRows { get; }
    public int Hidden { get; }
    public int CodeSize { get; }
    public Activation CodeActivation { get; }
    public IReadOnlyDictionary<string, string> Config => new Dictionary<string, string>
    {
        ["model"] = Kind, ["features"] = $"{Features}", ["hidden"] = $"{Hidden}", ["code"] = $"{CodeSize}",
        ["code_activation"] = CodeActivation == Activation.Relu ? "relu" : "linear",
    };

    public Autoencoder(IBackend backend, int maxRows, Activation codeActivation = Activation.Relu,
        int features = 784, int hidden = 256, int codeSize = 32)
    {
        _backend = backend;
        MaxRows = maxRows;
        Features = features;
        Hidden = hidden;
        CodeSize = codeSize;
        CodeActivation = codeActivation;
        _enc0 = new DenseLayer(Parameters, "encoder.0", features, hidden, Activation.Relu);
        _enc2 = new DenseLayer(Parameters, "encoder.2", hidden, codeSize, codeActivation);
        _dec0 = new DenseLayer(Parameters, "decoder.0", codeSize, hidden, Activation.Relu);
        _dec2 = new DenseLayer(Parameters, "decoder.2", hidden, features, Activation.None); // sigmoid is fused into the loss
        Parameters.Allocate(backend);

        _hidden1 = backend.Allocate(maxRows * hidden); _dHidden1 = backend.Allocate(maxRows * hidden);
        _code = backend.Allocate(maxRows * codeSize); _dCode = backend.Allocate(maxRows * codeSize);
        _hidden2 = backend.Allocate(maxRows * hidden); _dHidden2 = backend.Allocate(maxRows * hidden);
        _logits = backend.Allocate(maxRows * features); _dLogits = backend.Allocate(maxRows * features);
        _rowBce = backend.Allocate(maxRows); _rowSquaredError = backend.Allocate(maxRows);
    }

    public void Initialise(ulong seed)
    {
        Parameters.Initialise(_backend, seed);
    }

    void Forward(Tensor x, int rows)
    {
        _enc0.Forward(_backend, x, _hidden1, rows);
        _enc2.Forward(_backend, _hidden1, _code, rows);
        _dec0.Forward(_backend, _code, _hidden2, rows);
        _dec2.Forward(_backend, _hidden2, _logits, rows);
        _backend.SigmoidBce(_logits, x, _dLogits, _rowBce, _rowSquaredError, rows, Features, 1f / rows);
    }

    public void TrainStep(Tensor x, int rows, long step, Tensor accumulator)
    {
        Forward(x, rows);
        _backend.AccumulateSum(_rowBce, rows, accumulator, (int)Slot.TrainLoss);
        _dec2.Backward(_backend, _hidden2, _dLogits, _dHidden2, _hidden2, rows);
        _dec0.Backward(_backend, _code, _dHidden2, _dCode, CodeActivation == Activation.Relu ? _code : null, rows);
        _enc2.Backward(_backend, _hidden1, _dCode, _dHidden1, _hidden1, rows);
        _enc0.Backward(_backend, x, _dHidden1, null, null, rows);
    }

    public void Evaluate(Tensor x, int rows, Tensor accumulator)
    {
        Forward(x, rows);
        _backend.AccumulateSum(_rowBce, rows, accumulator, (int)Slot.Bce);
        _backend.AccumulateSum(_rowSquaredError, rows, accumulator, (int)Slot.SquaredError);
    }

    public int LatentSize => CodeSize;

    public void Encode(Tensor x, int rows, Tensor latent)
    {
        _enc0.Forward(_backend, x, _hidden1, rows);
        _enc2.Forward(_backend, _hidden1, latent, rows);
    }

    public void Decode(Tensor latent, int rows, Tensor images)
    {
        _dec0.Forward(_backend, latent, _hidden2, rows);
        _dec2.Forward(_backend, _hidden2, _logits, rows);
        _backend.Sigmoid(_logits.Slice(0, rows * Features), images.Slice(0, rows * Features));
    }

    public void Reconstruct(Tensor x, int rows, Tensor output)
    {
        Forward(x, rows);
        _backend.Sigmoid(_logits.Slice(0, rows * Features), output.Slice(0, rows * Features));
    }
}
