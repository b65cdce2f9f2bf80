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
        var p = model.Parameters;
        backend.Adam(p.Values, p.Gradients, p.FirstMoment, p.SecondMoment, adam, watch, record);
    }
}
