using GpuAe.Kernels;

namespace GpuAe.Nets.Model;

/// <summary>The layers between the image and the latent: the original notebook's dense ones, or convolutions.</summary>
public enum Architecture { Dense, Conv }

/// <summary>
/// What the AE and the VAE share, whichever the architecture: an encoder network features→encoder output, a decoder
/// network latent→logits (the sigmoid is fused into the loss), and every buffer allocated once for MaxRows rows. The
/// models differ only between encoder output and latent: the AE's code is its encoder output; the VAE samples z
/// from (μ, log σ²). A conditional model (<see cref="ConditionWidth"/> &gt; 0) appends its condition, one row per image,
/// to the encoder's input and to the latent at the decoder's input: [x | y] and [z | y]. The decoder's buffers hold
/// decodedPerImage·MaxRows rows: the VAE-GAN decodes two latents per image in one pass, the dense VAE several samples of
/// its IWAE bound.
/// </summary>
public abstract class AutoencoderBase : IModel, IFusedStep
{
    protected readonly IBackend Backend;
    readonly Sequential _encoder, _decoder;
    readonly Tensor _logits, _dLogits; // [MaxRows, Features]
    readonly Tensor _encoderInput, _decoderInput, _dDecoderInput; // [x | y] and [z | y] and its gradient, when conditional
    readonly int _latent;
    protected readonly Tensor EncoderOutput, DEncoderOutput, RowBce, RowSquaredError;

    public abstract ModelKind Kind { get; }
    public abstract int LatentSize { get; }
    public ParameterSet Parameters { get; } = new();
    public Architecture Architecture { get; }
    public int Features { get; }
    public int MaxRows { get; }
    /// <summary>Rows the decoder's buffers hold: decodedPerImage·MaxRows.</summary>
    protected int DecoderRows { get; }
    public int Hidden { get; }
    /// <summary>Width of the condition appended to the encoder's input and to the latent (0: unconditional).</summary>
    public int ConditionWidth { get; }
    /// <summary>The condition of the images the next call gets, [rows, ConditionWidth] (conditional models only).</summary>
    protected Tensor? Condition { get; set; }
    public long MultiplyAddsPerImage => _encoder.Layers.Concat(_decoder.Layers).Sum(l => l.MultiplyAdds);

    /// <summary>The architecture's entries of <see cref="Config"/>; the models add theirs.</summary>
    protected Dictionary<string, string> BaseConfig() => new()
    {
        ["model"] = Kind.Name, ["features"] = $"{Features}", ["hidden"] = $"{Hidden}",
        ["architecture"] = Architecture == Architecture.Conv ? "conv" : "dense",
    };
    public abstract IReadOnlyDictionary<string, string> Config { get; }

    protected AutoencoderBase(IBackend backend, Architecture architecture, int maxRows, int features, int hidden,
        int encoderOutput, Activation encoderActivation, int latent, int conditionWidth = 0, int decodedPerImage = 1, bool moreParameters = false)
    {
        if (conditionWidth > 0 && architecture != Architecture.Dense) throw new ArgumentException("only the dense models take a condition");
        Backend = backend;
        Architecture = architecture;
        MaxRows = maxRows;
        Features = features;
        Hidden = hidden;
        ConditionWidth = conditionWidth;
        _latent = latent;
        int decoderRows = DecoderRows = decodedPerImage * maxRows;
        (_encoder, _decoder) = architecture == Architecture.Conv
            ? ConvNetworks(features, encoderOutput, encoderActivation, latent, decoderRows)
            : DenseNetworks(features + conditionWidth, hidden, encoderOutput, encoderActivation, latent + conditionWidth, features, decoderRows);
        if (!moreParameters) Parameters.Allocate(backend); // else the derived model declares its own first, then allocates
        _logits = backend.Allocate(decoderRows * features); _dLogits = backend.Allocate(decoderRows * features);
        if (conditionWidth > 0)
        {
            _encoderInput = backend.Allocate(maxRows * (features + conditionWidth));
            _decoderInput = backend.Allocate(maxRows * (latent + conditionWidth)); _dDecoderInput = backend.Allocate(maxRows * (latent + conditionWidth));
        }
        EncoderOutput = backend.Allocate(maxRows * encoderOutput); DEncoderOutput = backend.Allocate(maxRows * encoderOutput);
        RowBce = backend.Allocate(maxRows); RowSquaredError = backend.Allocate(maxRows);
        _fusedLayout = new(FusedLayout);
    }

    /// <summary>The notebook's layers with PyTorch's nn.Sequential names: encoder input (the image, and the condition if
    /// any)→hidden ReLU→output, decoder input (the latent, and the condition if any)→hidden ReLU→features.</summary>
    (Sequential, Sequential) DenseNetworks(int encoderInput, int hidden, int encoderOutput, Activation encoderActivation, int decoderInput, int features,
        int decoderRows) => (
        new Sequential(Backend, MaxRows,
            new DenseLayer(Parameters, "encoder.0", encoderInput, hidden, Activation.Relu),
            new DenseLayer(Parameters, "encoder.2", hidden, encoderOutput, encoderActivation)),
        new Sequential(Backend, decoderRows,
            new DenseLayer(Parameters, "decoder.0", decoderInput, hidden, Activation.Relu),
            new DenseLayer(Parameters, "decoder.2", hidden, features, Activation.None)));

    /// <summary>Encoder 28×28×1 → conv 3×3 stride 2 → 14×14×32 ReLU → conv 3×3 stride 2 → 7×7×64 ReLU → dense to the
    /// encoder output; decoder: dense latent → 7×7×64 ReLU → transposed conv → 14×14×32 ReLU → transposed conv →
    /// 28×28×1 logits. Names follow the nn.Sequential a PyTorch user would write (ReLU, Flatten, Unflatten counted).</summary>
    (Sequential, Sequential) ConvNetworks(int features, int encoderOutput, Activation encoderActivation, int latent, int decoderRows)
    {
        if (features != 28 * 28) throw new ArgumentException("the convolutional models take 28×28 images");
        var full = new ConvGeometry(28, 28, 1, Kernel: 3, Stride: 2, Padding: 1);    // 28×28×1  → 14×14
        var half = new ConvGeometry(14, 14, 32, Kernel: 3, Stride: 2, Padding: 1);   // 14×14×32 → 7×7
        int bottleneck = half.OutPixels * 64;
        return (
            new Sequential(Backend, MaxRows,
                new ConvLayer(Parameters, "encoder.0", full, 32, Activation.Relu, Backend, MaxRows),
                new ConvLayer(Parameters, "encoder.2", half, 64, Activation.Relu, Backend, MaxRows),
                new DenseLayer(Parameters, "encoder.5", bottleneck, encoderOutput, encoderActivation)),
            new Sequential(Backend, decoderRows,
                new DenseLayer(Parameters, "decoder.0", latent, bottleneck, Activation.Relu),
                new ConvTransposeLayer(Parameters, "decoder.3", half, 64, Activation.Relu, Backend, decoderRows),
                new ConvTransposeLayer(Parameters, "decoder.5", full, 32, Activation.None, Backend, decoderRows)));
    }

    public virtual void Initialise(ulong seed) => Parameters.Initialise(Backend, seed);

    /// <summary>The dense layers as the fused step takes them, when it takes them (null for conv, or widths past its limits).</summary>
    DenseStepLayout? FusedLayout()
    {
        if (Architecture != Architecture.Dense || ConditionWidth > 0) return null;
        var layers = _encoder.Layers.Concat(_decoder.Layers).Cast<DenseLayer>().ToArray();
        bool variational = Kind.IsVariational;
        var layout = new DenseStepLayout(MaxRows, Features, Hidden, layers[1].Out, layers[2].In, variational,
            !variational && layers[1].Activation == Activation.Relu,
            layers[0].Weight.Offset, layers[0].Bias.Offset, layers[1].Weight.Offset, layers[1].Bias.Offset,
            layers[2].Weight.Offset, layers[2].Bias.Offset, layers[3].Weight.Offset, layers[3].Bias.Offset);
        return layout.Fits ? layout : null;
    }
    readonly Lazy<DenseStepLayout?> _fusedLayout;
    Tensor? _fusedWork; // allocated by the first fused step (never inside a CUDA graph's capture: see Trainer)

    public bool Fuses => Backend is IFusedDenseSteps { FusesDenseSteps: true } && _fusedLayout.Value is not null;

    public void TrainFused(Tensor data, IndexTensor order, StepValue firstRow, int rows, StepValue step, AdamStep adam, NonFiniteWatch watch,
        IndexTensor? record)
    {
        var layout = _fusedLayout.Value ?? throw new InvalidOperationException($"{Kind} has no fused step");
        _fusedWork ??= Backend.Allocate(layout.WorkLength);
        var (klWeight, seed) = NoiseOfStep(step.Value);
        var p = Parameters;
        ((IFusedDenseSteps)Backend).FusedDenseStep(layout, _fusedWork.Value, rows, klWeight, seed, data, order, firstRow, step,
            p.Values, p.Gradients, p.FirstMoment, p.SecondMoment, adam, watch, record);
    }

    /// <summary>The KL weight and the noise seed of a training step: the VAE's; the AE has neither.</summary>
    protected virtual (float KlWeight, ulong Seed) NoiseOfStep(long step) => (0f, 0UL);

    public virtual long FixedLaunchesFromStep => 1;
    public abstract void TrainStep(Tensor x, int rows, StepValue step, Tensor accumulator);
    public abstract void Evaluate(Tensor x, int rows, int firstRow, Tensor accumulator);
    public abstract void Encode(Tensor x, int rows, Tensor latent);

    /// <summary>The encoder's output for x[rows] into <paramref name="output"/> (normally EncoderOutput).</summary>
    protected void RunEncoder(Tensor x, int rows, Tensor output) => _encoder.Forward(Backend, Conditioned(x, _encoderInput, Features, rows), output, rows);

    /// <summary>Decodes latent[rows] to logits and scores them against x: RowBce, RowSquaredError and the logits'
    /// gradient of the batch-mean loss.</summary>
    protected void DecodeAndScore(Tensor latent, Tensor x, int rows)
    {
        DecodeLogits(latent, rows);
        Backend.SigmoidBce(_logits, x, _dLogits, RowBce, RowSquaredError, rows, Features, 1f / rows);
    }

    /// <summary>Decodes latent[rows] and scores the logits against x for evaluation: RowBce alone (the same numbers as
    /// <see cref="DecodeAndScore"/>'s), no gradient.</summary>
    protected void DecodeAndScoreLoss(Tensor latent, Tensor x, int rows)
    {
        DecodeLogits(latent, rows);
        Backend.BceRows(_logits, x, RowBce, rows, Features);
    }

    /// <summary>The decoder's logits of latent[rows] into <see cref="Logits"/>.</summary>
    protected void DecodeLogits(Tensor latent, int rows) => _decoder.Forward(Backend, Conditioned(latent, _decoderInput, _latent, rows), _logits, rows);

    /// <summary>The logits of the last decoding, [decodedPerImage·MaxRows, Features], and their gradient, which
    /// <see cref="DecodeAndScore"/> writes and the backward passes read.</summary>
    protected Tensor Logits => _logits;
    protected Tensor DLogits => _dLogits;

    /// <summary>The decoder's backward from <see cref="DLogits"/> for the latent[rows] of the last decoding (an
    /// unconditional model's): dLatent when given, and the decoder's parameter gradients only when
    /// <paramref name="trainDecoder"/> (otherwise the pass carries a loss through the decoder without training it).</summary>
    protected void BackwardDecoderLogits(Tensor latent, Tensor? dLatent, int rows, bool trainDecoder)
    {
        if (ConditionWidth > 0) throw new NotSupportedException("a conditional decoder's input gradient is BackwardDecoder's");
        if (trainDecoder) _decoder.Backward(Backend, latent, _dLogits, dLatent, null, rows);
        else _decoder.BackwardInput(Backend, latent, _dLogits, dLatent ?? throw new ArgumentNullException(nameof(dLatent)), null, rows);
    }

    /// <summary>Decoder gradients, and dLatent (masked by the latent itself when it came out of a ReLU). A conditional
    /// decoder's input gradient is d[z | y]; dLatent is its first columns.</summary>
    protected void BackwardDecoder(Tensor latent, Tensor dLatent, bool latentIsRelu, int rows)
    {
        if (ConditionWidth == 0)
        {
            _decoder.Backward(Backend, latent, _dLogits, dLatent, latentIsRelu ? latent : null, rows);
            return;
        }
        _decoder.Backward(Backend, _decoderInput, _dLogits, _dDecoderInput, null, rows);
        Backend.CopyColumns(_dDecoderInput, dLatent, new ColumnCopy(rows, _latent, _latent + ConditionWidth, 0, _latent, 0));
    }

    /// <summary>Encoder gradients from DEncoderOutput, for the input the last <see cref="RunEncoder"/> took.</summary>
    protected void BackwardEncoder(Tensor x, int rows) =>
        _encoder.Backward(Backend, ConditionWidth == 0 ? x : _encoderInput, DEncoderOutput, null, null, rows);

    /// <summary>input[rows, width] as the network takes it: itself, or [input | condition] assembled in
    /// <paramref name="joined"/> for a conditional model.</summary>
    Tensor Conditioned(Tensor input, Tensor joined, int width, int rows)
    {
        if (ConditionWidth == 0) return input;
        var condition = Condition ?? throw new InvalidOperationException($"the {Kind} needs its condition (UseTargets) before it encodes or decodes");
        int joinedWidth = width + ConditionWidth;
        Backend.CopyColumns(input, joined, new ColumnCopy(rows, width, width, 0, joinedWidth, 0));
        Backend.CopyColumns(condition, joined, new ColumnCopy(rows, ConditionWidth, ConditionWidth, 0, joinedWidth, width));
        return joined;
    }

    public void Decode(Tensor latent, int rows, Tensor images)
    {
        DecodeLogits(latent, rows);
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
