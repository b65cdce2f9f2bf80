using System.Diagnostics;
using GpuAe.Kernels;
using GpuAe.Nets.Data;
using GpuAe.Nets.Model;

namespace GpuAe.Nets.Training;

/// <param name="CollapseEpochs">an adversarial model's training stops after this many epochs in a row of a collapsed
/// game (<see cref="CollapseWatch"/>); 0 never stops it.</param>
public sealed record TrainOptions(int Epochs = 10, int Batch = 128, float LearningRate = 1e-3f, ulong Seed = 42, int CollapseEpochs = CollapseWatch.DefaultEpochs);

/// <summary>One epoch's numbers, as written to metrics.csv (the test ones are <see cref="EvalMetrics"/>'s). Losses are
/// nats per image; MSE is per pixel. An adversarial model adds its training epoch's adversarial numbers.</summary>
public sealed record EpochMetrics(int Epoch, double Seconds, double TrainLoss, double TestLoss, double TestBce, double TestKl, double TestMse, double TestBceMu,
    double TestAccuracy = double.NaN, AdversarialMetrics? Adversarial = null, EvalMetrics? Validation = null);

/// <summary>A VAE-GAN's training epoch, per image, summed over its steps as they trained: L_llike; the discriminator's
/// loss −L_GAN (its cross-entropy on x, x_r and x_p together); the decoder's adversarial term, L_GAN of x_r and x_p
/// (log(1 − D(x_r)) + log(1 − D(x_p)), at most 0); D's mean output on the real images, the reconstructions and the prior's
/// samples; and the shares of the real and of the generated images D classified right.</summary>
public sealed record AdversarialMetrics(double FeatureError, double DiscriminatorLoss, double GeneratorLoss, double DReal, double DReconstructed, double DPrior,
    double AccuracyReal, double AccuracyGenerated)
{
    /// <summary>The numbers of an epoch's sums over <paramref name="images"/> training images (see <see cref="Slot"/>).</summary>
    public static AdversarialMetrics From(float[] sums, int images)
    {
        double PerImage(Slot slot) => sums[(int)slot] / (double)images;
        return new(PerImage(Slot.FeatureError), PerImage(Slot.DiscriminatorLoss), PerImage(Slot.GeneratorLoss), PerImage(Slot.DReal),
            PerImage(Slot.DReconstructed), PerImage(Slot.DPrior), PerImage(Slot.CorrectReal), PerImage(Slot.CorrectGenerated) / 2);
    }

    /// <summary>The numbers' names in metrics.csv and in --json's records, in the order of <see cref="Numbers"/>.</summary>
    public static readonly IReadOnlyList<string> Columns =
        ["train_llike", "train_dis_loss", "train_gen_loss", "d_real", "d_recon", "d_prior", "d_accuracy_real", "d_accuracy_fake"];

    /// <summary>The numbers in their order (metrics.csv's columns).</summary>
    public double[] Numbers => [FeatureError, DiscriminatorLoss, GeneratorLoss, DReal, DReconstructed, DPrior, AccuracyReal, AccuracyGenerated];

    /// <summary>The metrics of <see cref="Numbers"/>.</summary>
    public static AdversarialMetrics Of(double[] n) => new(n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7]);
}

/// <summary>Test-set numbers, per image (MSE per pixel). Loss = Bce + Kl: for a VAE the negative ELBO (β = 1) with its
/// reconstruction term Bce estimated from one z ~ q(z|x) per image and Kl in closed form; for an AE its BCE. BceMu and
/// Mse score the deterministic reconstruction (AE: the code; VAE: decoded from z = μ). A classifier's Loss and Bce are its
/// cross-entropy, and Accuracy its share of correct predictions (NaN for the autoencoders).</summary>
public sealed record EvalMetrics(double Loss, double Bce, double Kl, double Mse, double BceMu, double Accuracy = double.NaN);

/// <summary>Where a run stands inside an epoch: the next row of the shuffled order and the loss summed so far, and, when
/// known, every training sum so far (<see cref="Slot"/>: the adversarial model's numbers too). Saved with an interrupted
/// run's checkpoint so that resuming repeats nothing and skips nothing.</summary>
public sealed record EpochPosition(int Epoch, int NextRow, float LossSum, float[]? Sums = null);

/// <summary>What the trainer tells a progress display, every <see cref="Trainer.ProgressInterval"/> steps.</summary>
public sealed record StepProgress(int Epoch, int RowsDone, int Rows, long Step, double RunningLoss, double StepsPerSecond);

/// <summary>The loss became NaN or infinite: training stops and nothing more is saved.</summary>
public sealed class TrainingDiverged(long step) : Exception($"the loss became NaN or infinite at step {step}")
{
    public long Step { get; } = step;
}

/// <summary>
/// The one training loop both models share. The datasets stay resident on the device; each epoch uploads one
/// shuffled row order and a schedule of its steps' numbers (step, the batch's first row, Adam's bias corrections),
/// and every step reads its numbers on the device from a step record (<see cref="StepRecord"/>) that a one-thread
/// launch at the step's start fills from the schedule. So a step's launches are the same at every step, and on CUDA
/// a full-batch step is recorded once as a CUDA graph and replayed: one driver call per step instead of one per
/// launch (47 ms instead of 55–58 ms per AE epoch on an H200; BENCHMARKS.md). Buffers are allocated once. The host
/// reads back only a few numbers every <see cref="HostReadInterval"/> steps (the running loss and the NaN flag) and
/// at the end of the epoch.
/// </summary>
public sealed class Trainer : IDisposable
{
    public const int ProgressInterval = 20;

    readonly IBackend _backend;
    readonly IModel _model;
    readonly TrainOptions _options;
    readonly int _trainCount;
    readonly Evaluator _evaluator;
    readonly Evaluator? _validator;
    readonly Tensor _trainImages, _batch, _accumulator;
    readonly Tensor? _trainTargets, _targetBatch; // a supervised model's labels: all of them, and the batch's
    readonly IndexTensor _order, _nonFiniteStep, _schedule, _stepRecord;
    CudaGraph? _graph;
    bool _fullStepLaunched; // a full-batch step has run launch by launch: its scratch buffers exist

    public long Step { get; set; }

    /// <summary>Full-batch steps are replayed from a CUDA graph: on CUDA devices, the only ones with graphs.</summary>
    public bool ReplaysCudaGraphs { get; }

    /// <summary>Steps between the host's reads of the NaN flag and the running loss. Each read waits for the device; the
    /// GPU benchmark sets this past the epoch's end so that the loss read at the end is the only one.</summary>
    public int HostReadInterval { get; set; } = ProgressInterval;

    /// <param name="validation">images held out of the training set, evaluated after every epoch beside the test set (the
    /// classifier's, <see cref="Classifier.ValidationShare"/>); none for the autoencoders</param>
    public Trainer(IBackend backend, IModel model, Dataset train, Dataset test, TrainOptions options, Dataset? validation = null)
    {
        if (options.Batch > model.MaxRows) throw new ArgumentException("batch larger than the model's buffers");
        _backend = backend;
        _model = model;
        _options = options;
        _trainCount = train.Count;
        var trainSet = DeviceImages.For(backend, model, train);
        (_trainImages, _trainTargets) = (trainSet.Images, trainSet.Targets);
        if (trainSet.TargetWidth > 0) _targetBatch = backend.Allocate(options.Batch * trainSet.TargetWidth);
        _evaluator = new Evaluator(backend, model, DeviceImages.For(backend, model, test), options.Batch);
        if (validation is not null) _validator = new Evaluator(backend, model, DeviceImages.For(backend, model, validation), options.Batch);
        _batch = backend.Allocate(options.Batch * model.Features);
        _order = backend.AllocateIndices(train.Count);
        _nonFiniteStep = backend.AllocateIndices(1);
        _accumulator = backend.Allocate((int)Slot.Count);
        _schedule = backend.AllocateIndices((train.Count + options.Batch - 1) / options.Batch * StepRecord.EntryLength);
        _stepRecord = backend.AllocateIndices(StepRecord.Length);
        ReplaysCudaGraphs = backend is IGraphReplay { ReplaysGraphs: true };
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
    public EpochMetrics RunEpoch(int epoch) => RunEpoch(new EpochPosition(epoch, 0, 0f), null, CancellationToken.None).Completed!;

    /// <summary>Trains from <paramref name="from"/> to the end of its epoch and evaluates, returning the epoch's metrics;
    /// or, when <paramref name="cancel"/> fires, stops after the step in progress and returns where it stopped.
    /// Throws <see cref="TrainingDiverged"/> when the loss stops being finite.</summary>
    public (EpochMetrics? Completed, EpochPosition? Interrupted) RunEpoch(EpochPosition from, Action<StepProgress>? progress, CancellationToken cancel)
    {
        _backend.Upload(_order, ShuffledOrder(_trainCount, _options.Seed, from.Epoch));
        _backend.Fill(_accumulator, 0f);
        if (from.Sums is { } partial) _backend.Upload(_accumulator, partial);
        _backend.Upload(_accumulator.Slice((int)Slot.TrainLoss, 1), [from.LossSum]);
        WriteSchedule(from.NextRow);
        var sums = new float[(int)Slot.Count];
        var flag = new int[1];
        var clock = Stopwatch.StartNew();
        int stepsThisCall = 0;
        for (int start = from.NextRow; start < _trainCount; start += _options.Batch)
        {
            if (cancel.IsCancellationRequested)
            {
                CheckFinite(flag); // a loss that went bad since the last read must not be saved as a position to resume
                _backend.Download(_accumulator, sums);
                return (null, new EpochPosition(from.Epoch, start, sums[(int)Slot.TrainLoss], sums));
            }
            int rows = Math.Min(_options.Batch, _trainCount - start); // the last batch may be short, as in Keras
            Step++;
            stepsThisCall++;
            RecordedStep(start, rows);
            if (stepsThisCall % HostReadInterval == 0)
            {
                CheckFinite(flag);
                if (progress is not null)
                {
                    _backend.Download(_accumulator, sums);
                    int done = start + rows;
                    progress(new StepProgress(from.Epoch, done, _trainCount, Step, sums[(int)Slot.TrainLoss] / (double)done,
                        stepsThisCall / clock.Elapsed.TotalSeconds));
                }
            }
        }
        _backend.Download(_accumulator, sums); // waits for the epoch's last launch
        double seconds = clock.Elapsed.TotalSeconds;
        CheckFinite(flag);
        var test = Evaluate();
        var adversarial = _model.Kind.IsAdversarial ? AdversarialMetrics.From(sums, _trainCount) : null;
        return (new EpochMetrics(from.Epoch, seconds, sums[(int)Slot.TrainLoss] / _trainCount, test.Loss, test.Bce, test.Kl, test.Mse, test.BceMu, test.Accuracy,
            adversarial, _validator?.Run()), null);
    }

    /// <summary>The step's launches: the record moved to this step's schedule entry, then <see cref="TrainingStep"/>
    /// (batch assembly, forward and backward, Adam; fused where the backend fuses dense steps); the numbers
    /// that change per step are read from the record on the device. (The host's values passed beside them are what a
    /// backend without a record would use; <see cref="StepValue"/>.)</summary>
    void LaunchStep(int start, int rows)
    {
        StepValue Recorded(long value, int field) => new(value, _stepRecord, field);
        _backend.BeginStep(_schedule, _stepRecord);
        if (_model is ISupervised supervised)
        {
            _backend.GatherRows(_trainTargets!.Value, _order, Recorded(start, StepRecord.FirstRow), rows, supervised.TargetWidth, _targetBatch!.Value);
            supervised.UseTargets(_targetBatch.Value); // the evaluation between epochs hands it the test set's
        }
        TrainingStep.Launch(_backend, _model, _trainImages, _order, Recorded(start, StepRecord.FirstRow), rows, Recorded(Step, StepRecord.Step),
            _batch, AdamStep.At(Step, _options.LearningRate), new NonFiniteWatch(_accumulator, (int)Slot.TrainLoss, _nonFiniteStep, Step), _stepRecord);
    }

    /// <summary>Per-step numbers of the steps from <paramref name="firstRow"/> to the epoch's end, and the record's
    /// cursor back to the first of them: one upload per epoch.</summary>
    void WriteSchedule(int firstRow)
    {
        var entries = new int[_schedule.Length];
        int k = 0;
        for (int start = firstRow; start < _trainCount; start += _options.Batch, k++)
        {
            long step = Step + 1 + k;
            StepRecord.WriteEntry(entries, k, step, start, AdamStep.At(step, _options.LearningRate));
        }
        _backend.Upload(_schedule, entries);
        _backend.Upload(_stepRecord, new int[StepRecord.Length]);
    }

    /// <summary>A step launched kernel by kernel, or on CUDA as a replay of a graph recorded from a full-batch step once
    /// one such step has run (its scratch buffers then exist: allocation cannot be recorded) and the model's launches
    /// have stopped changing. The short last batch of an epoch, and the VAE's KL warm-up, run launch by launch.</summary>
    void RecordedStep(int start, int rows)
    {
        bool replayable = ReplaysCudaGraphs && rows == _options.Batch && Step >= _model.FixedLaunchesFromStep;
        if (replayable && _graph is null && _fullStepLaunched)
            _graph = ((IGraphReplay)_backend).CaptureGraph(() => LaunchStep(start, rows));
        if (replayable && _graph is not null)
        {
            _graph.Launch();
            return;
        }
        LaunchStep(start, rows);
        if (rows == _options.Batch) _fullStepLaunched = true;
    }

    public void Dispose() => _graph?.Dispose();

    void CheckFinite(int[] flag)
    {
        _backend.Download(_nonFiniteStep, flag);
        if (flag[0] != 0) throw new TrainingDiverged(flag[0]);
    }

    /// <summary>BCE, KL and MSE over the whole test set.</summary>
    public EvalMetrics Evaluate() => _evaluator.Run();
}
