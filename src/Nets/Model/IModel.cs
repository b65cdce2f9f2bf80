using GpuAe.Kernels;

namespace GpuAe.Nets.Model;

/// <summary>Where models add their per-batch sums on the device; the trainer reads them once per epoch.
/// Bce is the reconstruction term of the loss (the VAE's: one sample z ~ q(z|x) per image); BceMu and SquaredError
/// score the deterministic reconstruction (the AE's code, the VAE's z = μ).
/// The classifier adds its cross-entropy in Bce and its correct predictions in Correct. The VAE-GAN's training step adds
/// L_llike (FeatureError), the discriminator's loss −L_GAN over its three inputs, the decoder's adversarial term L_GAN
/// of the generated images (GeneratorLoss), the discriminator's mean output D(·) on the real images, the
/// reconstructions and the prior's samples, and its correct decisions on the real and on the generated images.</summary>
public enum Slot
{
    TrainLoss = 0, Bce = 1, Kl = 2, SquaredError = 3, BceMu = 4, Correct = 5,
    FeatureError = 6, DiscriminatorLoss = 7, GeneratorLoss = 8, DReal = 9, DReconstructed = 10, DPrior = 11, CorrectReal = 12, CorrectGenerated = 13,
    Count = 14,
}

/// <summary>What the one trainer needs from a model (the AE and the VAE alike).</summary>
public interface IModel
{
    /// <summary>Its entry in the registry of model kinds (the name on the command line and in checkpoints).</summary>
    ModelKind Kind { get; }
    ParameterSet Parameters { get; }
    int Features { get; }
    int MaxRows { get; }
    /// <summary>Hyper-parameters that define the architecture, for checkpoints and reports.</summary>
    IReadOnlyDictionary<string, string> Config { get; }

    /// <summary>Fills the parameter buffer with the initial weights drawn from <paramref name="seed"/>.</summary>
    void Initialise(ulong seed);

    /// <summary>Forward and backward on x[rows, Features]: writes every gradient and adds the batch's summed loss to
    /// accumulator[TrainLoss]. The loss is averaged over the batch, so gradients carry a 1/rows factor. The step numbers
    /// the VAE's noise; with a record (<see cref="StepValue"/>) the noise kernel reads it on the device.</summary>
    void TrainStep(Tensor x, int rows, StepValue step, Tensor accumulator);

    /// <summary>From this step on, <see cref="TrainStep"/> issues the same launches with the same arguments at every step,
    /// apart from what they read from the step record: such steps can be recorded once and replayed (a CUDA graph). The
    /// VAE's KL warm-up changes a launch argument until it ends.</summary>
    long FixedLaunchesFromStep { get; }

    /// <summary>Forward only, reproducible: adds the summed loss terms of x[rows] to accumulator (see <see cref="Slot"/>).
    /// <paramref name="firstRow"/> is x's first row in the evaluated set: the VAE keys its fixed evaluation noise by it.</summary>
    void Evaluate(Tensor x, int rows, int firstRow, Tensor accumulator);

    /// <summary>Reconstructions in [0,1] of x[rows, Features] into output[rows, Features].</summary>
    void Reconstruct(Tensor x, int rows, Tensor output);

    /// <summary>Multiply-adds of one image's forward pass; a training step costs about three times as many.</summary>
    long MultiplyAddsPerImage { get; }

    /// <summary>Width of the latent the model encodes to: the AE's code, the VAE's μ.</summary>
    int LatentSize { get; }

    /// <summary>latent[rows, LatentSize] of x[rows, Features]: the AE's code, the VAE's μ.</summary>
    void Encode(Tensor x, int rows, Tensor latent);

    /// <summary>images[rows, Features] in [0,1] decoded from latent[rows, LatentSize].</summary>
    void Decode(Tensor latent, int rows, Tensor images);
}

/// <summary>A model whose whole training step, Adam included, the backend can run fused: three launches instead of one per
/// layer and loss (see <see cref="IFusedDenseSteps"/>). The dense unconditional AE and VAE offer it.</summary>
public interface IFusedStep
{
    /// <summary>Whether <see cref="TrainFused"/> runs here: a model that offers it on a backend opened to fuse dense steps.</summary>
    bool Fuses { get; }

    /// <summary>What the trainer's gather, <see cref="IModel.TrainStep"/> and Adam do, fused: the batch of
    /// <paramref name="rows"/> taken from data in the order from firstRow, every gradient, Adam on every parameter, and
    /// the batch's summed loss added to watch.Sums[watch.Slot] and checked there.</summary>
    void TrainFused(Tensor data, IndexTensor order, StepValue firstRow, int rows, StepValue step, AdamStep adam, NonFiniteWatch watch,
        IndexTensor? record);
}

/// <summary>A model whose parts train on losses of their own at learning rates of their own (the VAE-GAN's encoder,
/// decoder and discriminator): its training step writes each part's gradient of that part's loss, and Adam updates each
/// part's slice of the parameter buffer with the part's rate (<see cref="ModelPart.Update"/>). The parts' moments are
/// their own slices of the moment buffers; the step count, and so the bias corrections, are shared.</summary>
public interface IPartedModel
{
    IReadOnlyList<ModelPart> Parts { get; }
}

/// <summary>A part of a model: parameters [Offset, Offset + Length) of its buffer, and the learning rate they train at.</summary>
public sealed record ModelPart(string Name, int Offset, int Length, float LearningRate)
{
    /// <summary>Adam on this part's parameters alone, at its learning rate (the step's other numbers as given).</summary>
    public void Update(IBackend backend, ParameterSet p, AdamStep adam, NonFiniteWatch? watch = null, IndexTensor? record = null) =>
        backend.Adam(p.Values.Slice(Offset, Length), p.Gradients.Slice(Offset, Length), p.FirstMoment.Slice(Offset, Length),
            p.SecondMoment.Slice(Offset, Length), adam with { LearningRate = LearningRate }, watch, record);

    /// <summary>The part made of the parameters whose names start with <paramref name="prefix"/> and a dot (PyTorch's
    /// module names: "encoder.0.weight"); they must lie together in the buffer.</summary>
    public static ModelPart Named(ParameterSet parameters, string prefix, float learningRate)
    {
        var entries = parameters.Entries.Where(e => e.Name.StartsWith(prefix + ".", StringComparison.Ordinal)).ToList();
        if (entries.Count == 0) throw new ArgumentException($"no parameter is named {prefix}.*");
        int start = entries[0].Offset, end = entries[^1].Offset + entries[^1].Length;
        if (parameters.Entries.Any(e => e.Offset >= start && e.Offset < end && !entries.Contains(e)))
            throw new ArgumentException($"the parameters {prefix}.* are not stored together");
        return new ModelPart(prefix, start, end - start, learningRate);
    }
}
