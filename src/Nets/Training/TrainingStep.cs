using GpuAe.Kernels;
using GpuAe.Nets.Model;

namespace GpuAe.Nets.Training;

/// <summary>
/// One training step's launches, once the step's numbers are known (or in the step record): the batch gathered from the
/// resident images in the shuffled order, forward and backward, Adam, and the batch's loss added to the watched sum
/// (watch.Slot is <see cref="Slot.TrainLoss"/>). Fused into three launches where the model asks for it
/// (<see cref="IFusedStep.Fuses"/>: a dense model on a backend opened to fuse dense steps, which training does not
/// ask for yet), otherwise kernel by kernel. The trainer, the
/// benchmark and `gpuae check` all step through here.
/// </summary>
public static class TrainingStep
{
    /// <param name="batch">rows × Features floats that hold the gathered batch when the step is not fused.</param>
    public static void Launch(IBackend backend, IModel model, Tensor images, IndexTensor order, StepValue firstRow, int rows, StepValue step,
        Tensor batch, AdamStep adam, NonFiniteWatch watch, IndexTensor? record)
    {
        if (model is IFusedStep { Fuses: true } fused)
        {
            fused.TrainFused(images, order, firstRow, rows, step, adam, watch, record);
            return;
        }
        backend.GatherRows(images, order, firstRow, rows, model.Features, batch);
        model.TrainStep(batch, rows, step, watch.Sums);
        Update(backend, model, adam, watch, record);
    }

    /// <summary>Adam on every parameter from the gradients of the step: one launch over the whole buffer, or one per part
    /// of a <see cref="IPartedModel"/> at the part's learning rate (the rate in <paramref name="adam"/> is then not used).
    /// The NaN watch rides on the last launch.</summary>
    public static void Update(IBackend backend, IModel model, AdamStep adam, NonFiniteWatch? watch, IndexTensor? record)
    {
        var p = model.Parameters;
        if (model is not IPartedModel parted)
        {
            backend.Adam(p.Values, p.Gradients, p.FirstMoment, p.SecondMoment, adam, watch, record);
            return;
        }
        for (int i = 0; i < parted.Parts.Count; i++)
            parted.Parts[i].Update(backend, p, adam, i == parted.Parts.Count - 1 ? watch : null, record);
    }
}
