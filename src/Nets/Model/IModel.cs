using GpuAe.Kernels;

namespace GpuAe.Nets.Model;

/// <summary>Where models add their per-batch sums on the device; the trainer reads them once per epoch.
/// Bce is the reconstruction term of the loss (the VAE's: one sample z ~ q(z|x) per image); BceMu and SquaredError
/// score the deterministic reconstruction (the AE's code, the VAE's z = μ).
/// The classifier adds its cross-entropy in Bce and its correct predictions in Correct.</summary>
public enum Slot { TrainLoss = 0, Bce = 1, Kl = 2, SquaredError = 3, BceMu = 4, Correct = 5, Count = 6 }

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
