using GpuAe.Kernels;

namespace GpuAe.Nets.Model;

/// <summary>A model trained against a target row per image (one-hot labels): the trainer gathers the batch's targets
/// beside its images, the evaluator hands over the test set's, each through <see cref="UseTargets"/>.</summary>
public interface ISupervised
{
    int TargetWidth { get; }

    /// <summary>targets[rows, TargetWidth] of the images the next <see cref="IModel.TrainStep"/> or
    /// <see cref="IModel.Evaluate"/> gets.</summary>
    void UseTargets(Tensor targets);
}

/// <summary>
/// The Fashion-MNIST classifier whose features score generated images (the report's Fréchet distance): the conv
/// models' encoder layers, then a dense 256-unit ReLU layer (the features) and a dense layer to the 10 class logits,
/// trained on softmax cross-entropy with the same kernels, trainer and checkpoints as the autoencoders. Names are
/// those of one PyTorch nn.Sequential: Conv2d(0), ReLU, Conv2d(2), ReLU, Flatten, Linear(5), ReLU, Linear(7).
/// </summary>
public sealed class Classifier : IModel, ISupervised
{
    public const int Classes = 10, FeatureWidth = 256;
    /// <summary>The classifier trains on all but the last twelfth of the training images (5,000 of 60,000) and is chosen on
    /// those: the epoch with the lowest loss on them is saved as <see cref="ChosenFileName"/>, which scores the study. The
    /// test set chooses nothing.</summary>
    public const int ValidationShare = 12;
    public const string ChosenFileName = "chosen.safetensors";
    public static int ValidationImages(int trainImages) => trainImages / ValidationShare;

    readonly IBackend _backend;
    readonly Sequential _features, _head;
    readonly Tensor _featureRows, _dFeatures, _logits, _dLogits, _rowLoss, _rowCorrect;
    Tensor? _targets;

    public ModelKind Kind => ModelKind.ClassifierKind;
    public ParameterSet Parameters { get; } = new();
    public int Features { get; }
    public int MaxRows { get; }
    public int TargetWidth => Classes;
    public IReadOnlyDictionary<string, string> Config => new Dictionary<string, string>
    {
        ["model"] = Kind.Name, ["features"] = $"{Features}", ["classes"] = $"{Classes}", ["hidden"] = $"{FeatureWidth}", ["architecture"] = "conv",
    };
    public long FixedLaunchesFromStep => 1;
    public long MultiplyAddsPerImage => _features.Layers.Concat(_head.Layers).Sum(l => l.MultiplyAdds);
    /// <summary>The penultimate layer's width: what <see cref="Encode"/> gives.</summary>
    public int LatentSize => FeatureWidth;

    public Classifier(IBackend backend, int maxRows, int features = 784)
    {
        if (features != 28 * 28) throw new ArgumentException("the classifier takes 28×28 images");
        _backend = backend;
        MaxRows = maxRows;
        Features = features;
        var full = new ConvGeometry(28, 28, 1, Kernel: 3, Stride: 2, Padding: 1);  // 28×28×1  → 14×14×32
        var half = new ConvGeometry(14, 14, 32, Kernel: 3, Stride: 2, Padding: 1); // 14×14×32 → 7×7×64
        _features = new Sequential(backend, maxRows,
            new ConvLayer(Parameters, "net.0", full, 32, Activation.Relu, backend, maxRows),
            new ConvLayer(Parameters, "net.2", half, 64, Activation.Relu, backend, maxRows),
            new DenseLayer(Parameters, "net.5", half.OutPixels * 64, FeatureWidth, Activation.Relu));
        _head = new Sequential(backend, maxRows, new DenseLayer(Parameters, "net.7", FeatureWidth, Classes, Activation.None));
        Parameters.Allocate(backend);
        _featureRows = backend.Allocate(maxRows * FeatureWidth); _dFeatures = backend.Allocate(maxRows * FeatureWidth);
        _logits = backend.Allocate(maxRows * Classes); _dLogits = backend.Allocate(maxRows * Classes);
        _rowLoss = backend.Allocate(maxRows); _rowCorrect = backend.Allocate(maxRows);
    }

    public void Initialise(ulong seed) => Parameters.Initialise(_backend, seed);

    public void UseTargets(Tensor targets) => _targets = targets;

    Tensor Targets => _targets ?? throw new InvalidOperationException("the classifier needs its targets (UseTargets) before a step or an evaluation");

    void Forward(Tensor x, int rows)
    {
        Logits(x, rows, _logits);
        _backend.SoftmaxCrossEntropy(_logits, Targets, _dLogits, _rowLoss, _rowCorrect, rows, Classes, 1f / rows);
    }

    public void TrainStep(Tensor x, int rows, StepValue step, Tensor accumulator)
    {
        Forward(x, rows);
        _backend.AccumulateSum(_rowLoss, rows, accumulator, (int)Slot.TrainLoss);
        _head.Backward(_backend, _featureRows, _dLogits, _dFeatures, _featureRows, rows); // the features came out of a ReLU
        _features.Backward(_backend, x, _dFeatures, null, null, rows);
    }

    /// <summary>Adds the summed cross-entropy (in the Bce slot: it is the classifier's loss) and the number of correct
    /// predictions (<see cref="Slot.Correct"/>).</summary>
    public void Evaluate(Tensor x, int rows, int firstRow, Tensor accumulator)
    {
        Forward(x, rows);
        _backend.AccumulateSum(_rowLoss, rows, accumulator, (int)Slot.Bce);
        _backend.AccumulateSum(_rowCorrect, rows, accumulator, (int)Slot.Correct);
    }

    /// <summary>features[rows, 256]: the penultimate layer's ReLU outputs.</summary>
    public void Encode(Tensor x, int rows, Tensor latent) => _features.Forward(_backend, x, latent, rows);

    /// <summary>logits[rows, 10] of x[rows, 784]; the features stay in the buffer the backward pass reads.</summary>
    public void Logits(Tensor x, int rows, Tensor logits)
    {
        _features.Forward(_backend, x, _featureRows, rows);
        _head.Forward(_backend, _featureRows, logits, rows);
    }

    /// <summary>logits[rows, 10] of features[rows, 256] (<see cref="Encode"/>'s output): the last layer alone.</summary>
    public void Head(Tensor features, int rows, Tensor logits) => _head.Forward(_backend, features, logits, rows);

    public void Reconstruct(Tensor x, int rows, Tensor output) => throw new NotSupportedException("a classifier does not reconstruct images");
    public void Decode(Tensor latent, int rows, Tensor images) => throw new NotSupportedException("a classifier does not decode images");
}
