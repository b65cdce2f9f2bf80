using System.Diagnostics;
using GpuAe.Kernels;

namespace GpuAe.Nets;

public sealed record TrainOptions(int Epochs = 10, int Batch = 128, float LearningRate = 1e-3f, ulong Seed = 42);

/// <summary>One epoch's numbers, as written to metrics.csv. Losses are nats per image; MSE is per pixel.</summary>
public sealed record EpochMetrics(int Epoch, double Seconds, double TrainLoss, double TestLoss, double TestBce, double TestKl, double TestMse);

/// <summary>Test-set numbers: BCE summed over pixels and KL, per image; MSE per pixel.</summary>
public sealed record EvalMetrics(double Loss, double Bce, double Kl, double Mse);

/// <summary>
/// The one training loop both models share. The datasets stay resident on the device; each epoch uploads one
/// shuffled row order, assembles batches on the device and runs a fixed sequence of launches per step into
/// buffers allocated once. The only read-back is the loss sums, once per epoch.
/// </summary>
public sealed class Trainer
{
    readonly IBackend _backend;
    readonly IModel _model;
    readonly TrainOptions _options;
    readonly int _trainCount;
    readonly Evaluator _evaluator;
    readonly Tensor _trainImages, _batch, _accumulator;
    readonly IndexTensor _order;

    public long Step { get; private set; }

    public Trainer(IBackend backend, IModel model, Dataset train, Dataset test, TrainOptions options)
    {
        if (options.Batch > model.MaxRows) throw new ArgumentException("batch larger than the model's buffers");
        _backend = backend;
        _model = model;
        _options = options;
        _trainCount = train.Count;
        _trainImages = DeviceImages.Upload(backend, train).Images;
        _evaluator = new Evaluator(backend, model, DeviceImages.Upload(backend, test), options.Batch);
        _batch = backend.Allocate(options.Batch * model.Features);
        _order = backend.AllocateIndices(train.Count);
        _accumulator = backend.Allocate((int)Slot.Count);
    }

    /// <summary>The row order of epoch <paramref name="epoch"/>: Fisher–Yates driven by (seed, epoch), the same everywhere.</summary>
    public static int[] ShuffledOrder(int count, ulong seed, int epoch)
    {
        var order = new int[count];
        for (int i = 0; i < count; i++) order[i] = i;
        for (int i = count - 1; i > 0; i--)
        {
            int j = CounterRandom.Below(seed, 0x5348_5546_0000_0000UL + (ulong)epoch, (ulong)i, i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    /// <summary>Trains one epoch (1-based number), then evaluates on the test set.</summary>
    public EpochMetrics RunEpoch(int epoch)
    {
        _backend.Upload(_order, ShuffledOrder(_trainCount, _options.Seed, epoch));
        _backend.Fill(_accumulator, 0f);
        var clock = Stopwatch.StartNew();
        for (int start = 0; start < _trainCount; start += _options.Batch)
        {
            int rows = Math.Min(_options.Batch, _trainCount - start); // the last batch may be short, as in Keras
            Step++;
            _backend.GatherRows(_trainImages, _order, start, rows, _model.Features, _batch);
            _model.TrainStep(_batch, rows, Step, _accumulator);
            var p = _model.Parameters;
            _backend.Adam(p.Values, p.Gradients, p.FirstMoment, p.SecondMoment, AdamStep.At(Step, _options.LearningRate));
        }
        var sums = new float[(int)Slot.Count];
        _backend.Download(_accumulator, sums); // waits for the epoch's last launch
        double seconds = clock.Elapsed.TotalSeconds;
        var test = Evaluate();
        return new EpochMetrics(epoch, seconds, sums[(int)Slot.TrainLoss] / _trainCount, test.Loss, test.Bce, test.Kl, test.Mse);
    }

    /// <summary>BCE, KL and MSE over the whole test set.</summary>
    public EvalMetrics Evaluate() => _evaluator.Run();
}
