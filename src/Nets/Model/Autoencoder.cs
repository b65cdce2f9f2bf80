using GpuAe.Kernels;

namespace GpuAe.Nets.Model;

/// <summary>
/// The original notebook's dense AE: 784→256 ReLU→32 (ReLU, or linear)→256 ReLU→784 sigmoid, trained on BCE summed
/// over pixels and averaged over the batch; or the convolutional AE (conv-ae) with the same code. Its code is the
/// encoder's output.
/// </summary>
public sealed class Autoencoder(IBackend backend, int maxRows, Activation codeActivation = Activation.Relu,
    int features = 784, int hidden = 256, int codeSize = 32, Architecture architecture = Architecture.Dense)
    : AutoencoderBase(backend, architecture, maxRows, features, hidden, codeSize, codeActivation, codeSize)
{
    public override ModelKind Kind => Architecture == Architecture.Conv ? ModelKind.ConvAe : ModelKind.Ae;
    public int CodeSize { get; } = codeSize;
    public Activation CodeActivation { get; } = codeActivation;
    public override int LatentSize => CodeSize;
    public override IReadOnlyDictionary<string, string> Config => new Dictionary<string, string>(BaseConfig())
    {
        ["code"] = $"{CodeSize}", ["code_activation"] = CodeActivation == Activation.Relu ? "relu" : "linear",
    };
    protected override Tensor ReconstructionLatent => EncoderOutput;

    void Forward(Tensor x, int rows)
    {
        RunEncoder(x, rows, EncoderOutput);
        DecodeAndScore(EncoderOutput, x, rows);
    }

    public override void TrainStep(Tensor x, int rows, StepValue step, Tensor accumulator)
    {
        Forward(x, rows);
        Backend.AccumulateSum(RowBce, rows, accumulator, (int)Slot.TrainLoss);
        BackwardDecoder(EncoderOutput, DEncoderOutput, CodeActivation == Activation.Relu, rows);
        BackwardEncoder(x, rows);
    }

    /// <summary>The AE is deterministic: its loss's BCE and the reconstruction's are the same number.</summary>
    public override void Evaluate(Tensor x, int rows, int firstRow, Tensor accumulator)
    {
        Forward(x, rows);
        Backend.AccumulateSum(RowBce, rows, accumulator, (int)Slot.Bce);
        Backend.AccumulateSum(RowBce, rows, accumulator, (int)Slot.BceMu);
        Backend.AccumulateSum(RowSquaredError, rows, accumulator, (int)Slot.SquaredError);
    }

    public override void Encode(Tensor x, int rows, Tensor latent) => RunEncoder(x, rows, latent);
}
