using GpuAe.Kernels;
using GpuAe.Nets.Data;
using GpuAe.Nets.Model;

namespace GpuAe.Nets.Training;

/// <summary>Images resident on the device, [Count, Features], and, for a model that needs them, their one-hot labels
/// [Count, TargetWidth].</summary>
public sealed record DeviceImages(Tensor Images, Tensor? Targets, int Count, int Features, int TargetWidth)
{
    /// <summary>The images, and their one-hot labels of <paramref name="targetWidth"/> classes when it is not 0 (a model
    /// that needs its labels: <see cref="ISupervised.TargetWidth"/>).</summary>
    public static DeviceImages Upload(IBackend backend, Dataset data, int targetWidth = 0)
    {
        var tensor = backend.Allocate(data.Count * data.Features);
        backend.Upload(tensor, data.Pixels);
        Tensor? labels = null;
        if (targetWidth > 0)
        {
            labels = backend.Allocate(data.Count * targetWidth);
            backend.Upload(labels.Value, data.OneHot(targetWidth));
        }
        return new DeviceImages(tensor, labels, data.Count, data.Features, targetWidth);
    }

    /// <summary>The images, with the labels <paramref name="model"/> needs, if any.</summary>
    public static DeviceImages For(IBackend backend, IModel model, Dataset data) => Upload(backend, data, (model as ISupervised)?.TargetWidth ?? 0);

    public Tensor Rows(int start, int rows) => Images.Slice(start * Features, rows * Features);
    public Tensor TargetRows(int start, int rows) =>
        (Targets ?? throw new InvalidOperationException("these images were uploaded without their labels: DeviceImages.Upload(…, targetWidth)"))
            .Slice(start * TargetWidth, rows * TargetWidth);
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
            model.Kind.Family == ModelFamily.Classifier ? sums[(int)Slot.Correct] / test.Count : double.NaN);
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
            if (model is ISupervised supervised) supervised.UseTargets(test.TargetRows(start, rows));
            vae.ImportanceWeightedBound(test.Rows(start, rows), rows, start, samples, logWeights, accumulator, 0);
        }
        var sum = new float[1];
        backend.Download(accumulator, sum);
        return sum[0] / test.Count;
    }
}
