using GpuAe.Kernels;
using GpuAe.Nets.Data;
using GpuAe.Nets.Model;

namespace GpuAe.Nets.Training;

/// <summary>Images resident on the device, [Count, Features], and, for a supervised model, their one-hot labels
/// [Count, Classes].</summary>
public sealed record DeviceImages(Tensor Images, Tensor? Targets, int Count, int Features)
{
    /// <summary>The images, and their one-hot labels when <paramref name="targets"/> (only a classifier needs them).</summary>
    public static DeviceImages Upload(IBackend backend, Dataset data, bool targets = false)
    {
        var tensor = backend.Allocate(data.Count * data.Features);
        backend.Upload(tensor, data.Pixels);
        Tensor? labels = null;
        if (targets)
        {
            labels = backend.Allocate(data.Count * Classifier.Classes);
            backend.Upload(labels.Value, data.OneHot(Classifier.Classes));
        }
        return new DeviceImages(tensor, labels, data.Count, data.Features);
    }

    public Tensor Rows(int start, int rows) => Images.Slice(start * Features, rows * Features);
    public Tensor TargetRows(int start, int rows) =>
        (Targets ?? throw new InvalidOperationException("these images were uploaded without their labels: DeviceImages.Upload(…, targets: true)"))
            .Slice(start * Classifier.Classes, rows * Classifier.Classes);
}

/// <summary>Test-set evaluation in batches on the device, with one read-back at the end. Its buffers are allocated once.</summary>
public sealed class Evaluator(IBackend backend, IModel model, DeviceImages test, int batch)
{
    readonly Tensor _accumulator = backend.Allocate((int)Slot.Count);

    public EvalMetrics Run()
    {
        backend.Fill(_accumulator, 0f);
        for (int start = 0; start < test.Count; start += batch)
        {
            int rows = Math.Min(batch, test.Count - start);
            if (model is ISupervised supervised) supervised.UseTargets(test.TargetRows(start, rows));
            model.Evaluate(test.Rows(start, rows), rows, start, _accumulator);
        }
        var sums = new float[(int)Slot.Count];
        backend.Download(_accumulator, sums);
        double bce = sums[(int)Slot.Bce] / test.Count, kl = sums[(int)Slot.Kl] / test.Count;
        return new EvalMetrics(bce + kl, bce, kl, sums[(int)Slot.SquaredError] / ((double)test.Count * test.Features), sums[(int)Slot.BceMu] / test.Count,
            model is ISupervised ? sums[(int)Slot.Correct] / test.Count : double.NaN);
    }

    /// <summary>The k-sample importance-weighted bound on the BCE objective, in nats per image, over the test set, with
    /// the fixed evaluation noise.</summary>
    public double ImportanceWeightedBound(int samples)
    {
        if (model is not VariationalAutoencoder vae) throw new UserError($"the IWAE bound needs a VAE, not a '{model.Kind}' model");
        var accumulator = backend.Allocate(1);
        var logWeights = backend.Allocate(samples * batch);
        for (int start = 0; start < test.Count; start += batch)
        {
            int rows = Math.Min(batch, test.Count - start);
            vae.ImportanceWeightedBound(test.Rows(start, rows), rows, start, samples, logWeights, accumulator, 0);
        }
        var sum = new float[1];
        backend.Download(accumulator, sum);
        return sum[0] / test.Count;
    }
}
