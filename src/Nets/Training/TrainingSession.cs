using System.Globalization;
using GpuAe.Kernels;
using GpuAe.Nets.Checkpoints;
using GpuAe.Nets.Data;
using GpuAe.Nets.Model;

namespace GpuAe.Nets.Training;

/// <summary>Where training output goes: the CLI shows lines, a progress bar, JSON or nothing.</summary>
public interface ITrainingReporter
{
    void Message(string text);
    void Progress(StepProgress progress);
    void EpochDone(ModelKind model, int epochs, EpochMetrics metrics);
}

/// <summary>One line per epoch, as CI logs and pipes want it.</summary>
public sealed class LineReporter(TextWriter output) : ITrainingReporter
{
    public void Message(string text) => output.WriteLine(text);
    public void Progress(StepProgress progress) { }
    public void EpochDone(ModelKind model, int epochs, EpochMetrics m) => output.WriteLine(FormatEpoch(model, epochs, m));

    public static string FormatEpoch(ModelKind model, int epochs, EpochMetrics m)
    {
        if (!double.IsNaN(m.TestAccuracy))
        {
            string validation = m.Validation is { } v
                ? string.Create(CultureInfo.InvariantCulture, $"  validation loss {v.Loss,8:F4}  accuracy {v.Accuracy * 100:F2} %") : "";
            return string.Create(CultureInfo.InvariantCulture,
                $"{model} epoch {m.Epoch,3}/{epochs}  {m.Seconds,7:F2} s  train loss {m.TrainLoss,8:F4}  test loss {m.TestLoss,8:F4}  test accuracy {m.TestAccuracy * 100:F2} %{validation}");
        }
        string kl = model.IsVariational ? string.Create(CultureInfo.InvariantCulture, $" (BCE {m.TestBce:F3} + KL {m.TestKl:F3})") : "";
        string adversarial = m.Adversarial is { } a
            ? string.Create(CultureInfo.InvariantCulture,
                $"  D loss {a.DiscriminatorLoss:F3}  D(x) {a.DReal:F3} D(x_r) {a.DReconstructed:F3} D(x_p) {a.DPrior:F3}  D right {a.AccuracyReal:P1} real, {a.AccuracyGenerated:P1} generated")
            : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"{model} epoch {m.Epoch,3}/{epochs}  {m.Seconds,7:F2} s  train loss {m.TrainLoss,8:F3}  test loss {m.TestLoss,8:F3}{kl}  test MSE {m.TestMse:F5}{adversarial}");
    }
}

/// <summary>
/// A whole training run as `gpuae train` and `gpuae report` do it: train epoch by epoch, append metrics.csv and
/// write a checkpoint (atomically) after each epoch; resume from such a checkpoint; stop cleanly on cancellation
/// (checkpoint mid-epoch) or divergence (nothing saved over the last good checkpoint).
/// </summary>
public static class TrainingSession
{
    public static void Validate(ModelSpec spec, TrainOptions options)
    {
        if (options.Epochs < 1) throw new UserError($"--epochs must be at least 1 (got {options.Epochs})");
        if (options.Batch < 1) throw new UserError($"--batch must be at least 1 (got {options.Batch})");
        if (!(options.LearningRate > 0) || float.IsInfinity(options.LearningRate)) throw new UserError($"--lr must be a positive number (got {options.LearningRate})");
        if (spec.LatentSize is < 1 or > ModelSpec.MaxLatent) throw new UserError($"--latent must be from 1 to {ModelSpec.MaxLatent}, an image's pixels (got {spec.LatentSize})");
        if (!(spec.Beta >= 0) || float.IsInfinity(spec.Beta)) throw new UserError($"--beta must be 0 or more (got {spec.Beta})");
        if (spec.KlWarmupEpochs < 0) throw new UserError($"--kl-warmup must be 0 or more epochs (got {spec.KlWarmupEpochs})");
        if (options.CollapseEpochs < 0) throw new UserError($"--collapse-epochs must be 0 (never stop) or more (got {options.CollapseEpochs})");
        if (spec.Adversarial is { } a)
        {
            if (!(a.Gamma >= 0) || float.IsInfinity(a.Gamma)) throw new UserError($"--gamma must be 0 or more (got {a.Gamma})");
            foreach (var (flag, rate) in new[] { ("--lr-enc", a.EncoderRate), ("--lr-dec", a.DecoderRate), ("--lr-dis", a.DiscriminatorRate) })
                if (!(rate > 0) || float.IsInfinity(rate)) throw new UserError($"{flag} must be a positive number (got {rate})");
        }
    }

    /// <summary>Creates the folder and proves it is writable before any work is done.</summary>
    public static string PrepareOutput(string folder)
    {
        try
        {
            Directory.CreateDirectory(folder);
            string probe = Path.Combine(folder, ".write-test");
            File.WriteAllText(probe, "");
            File.Delete(probe);
            return folder;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new UserError($"cannot write to output folder {folder} ({e.Message}): choose another with --out");
        }
    }

    /// <summary>Trains a new model into <paramref name="outputFolder"/>.</summary>
    public static (IModel Model, List<EpochMetrics> Epochs) Run(IBackend backend, ModelSpec spec, TrainOptions options,
        Dataset train, Dataset test, string outputFolder, TextWriter log) =>
        Run(backend, spec, options, train, test, outputFolder, new LineReporter(log), CancellationToken.None);

    public static (IModel Model, List<EpochMetrics> Epochs) Run(IBackend backend, ModelSpec spec, TrainOptions options,
        Dataset train, Dataset test, string outputFolder, ITrainingReporter reporter, CancellationToken cancel)
    {
        Validate(spec, options);
        if (options.Batch > train.Count) throw new UserError($"--batch {options.Batch} is larger than the {train.Count} training images");
        PrepareOutput(outputFolder);
        using var writer = OutputLock.Claim(outputFolder);
        var model = Models.Create(backend, spec, options.Batch, StepsPerEpoch(train.Count, options.Batch));
        model.Initialise(options.Seed);
        MetricsCsv.Start(Path.Combine(outputFolder, "metrics.csv"), model.Kind);
        return Continue(backend, model, options, train, test, outputFolder, new EpochPosition(1, 0, 0f), 0, [], reporter, cancel);
    }

    /// <summary>Continues the run whose checkpoint is in <paramref name="folder"/>, up to <paramref name="epochs"/> epochs
    /// in all (default: the number it was started with). The result is the same as an uninterrupted run's.
    /// <paramref name="collapseEpochs"/>, when given, replaces the run's collapse watch: the watch only stops training, it
    /// changes nothing that is computed, so a run may go on past a collapse (0) and stays the same run.</summary>
    public static (IModel Model, List<EpochMetrics> Epochs) Resume(IBackend backend, string folder, int? epochs,
        Dataset train, Dataset test, ITrainingReporter reporter, CancellationToken cancel, int? collapseEpochs = null)
    {
        string path = Path.Combine(folder, Checkpoint.FileName);
        if (!File.Exists(path)) throw new UserError($"--resume: no checkpoint {path}; train without --resume first");
        using var writer = OutputLock.Claim(folder);
        var contents = SafeTensors.Read(path);
        var metadata = contents.Metadata;
        long trainImages = Checkpoint.GetLong(metadata, "train_images", path);
        if (trainImages != train.Count)
            throw new UserError($"{path} was trained on {trainImages} images but {train.Count} are loaded: pass the same --limit as the original run");
        if (metadata.TryGetValue("train_sha256", out var fingerprint) && fingerprint != train.Fingerprint)
            throw new UserError($"{path} was trained on other training data of the same size (SHA-256 {fingerprint[..Math.Min(12, fingerprint.Length)]}…, " +
                                $"loaded {train.Fingerprint[..12]}…): pass the --data and --limit of the original run");
        // Its metrics.csv scored every epoch on one test set: the rest of the run must be scored on the same one.
        if (metadata.TryGetValue("test_sha256", out var testFingerprint) && testFingerprint != test.Fingerprint)
            throw new UserError($"{path} was scored on other test images (SHA-256 {testFingerprint[..Math.Min(12, testFingerprint.Length)]}…, " +
                                $"loaded {test.Fingerprint[..12]}… of {test.Count}): pass the --data and --test-limit of the original run");
        int batch = Checkpoint.GetInt(metadata, "batch", path, 1, train.Count);
        var options = new TrainOptions(epochs ?? Checkpoint.GetInt(metadata, "epochs", path, 1, int.MaxValue), batch,
            Checkpoint.GetFloat(metadata, "lr", path), (ulong)Checkpoint.GetLong(metadata, "seed", path),
            collapseEpochs ?? (metadata.ContainsKey("collapse_epochs") ? Checkpoint.GetInt(metadata, "collapse_epochs", path, 0, int.MaxValue) : CollapseWatch.DefaultEpochs));
        Validate(Models.SpecOf(metadata, path), options);
        // The position: the last completed epoch, and inside the next one the first row not yet trained (a whole number of
        // batches into the data) with the sums so far.
        int completed = Checkpoint.GetInt(metadata, "epoch", path, 0, int.MaxValue - 1);
        long step = Checkpoint.GetInt(metadata, "step", path, 0, int.MaxValue);
        var position = metadata.ContainsKey("next_row")
            ? new EpochPosition(completed + 1, Checkpoint.GetInt(metadata, "next_row", path, 0, train.Count - 1), Checkpoint.GetFloat(metadata, "loss_sum", path),
                metadata.TryGetValue("sums", out var sums) ? ParseSums(sums, path) : null)
            : new EpochPosition(completed + 1, 0, 0f);
        if (position.NextRow % batch != 0) throw new UserError($"{path}: metadata 'next_row' is {position.NextRow}, not a whole number of batches of {batch}");
        var (model, _) = Models.Load(backend, contents, path, batch, withMoments: true);
        string metricsPath = Path.Combine(folder, "metrics.csv");
        // Keep the epochs the checkpoint holds; drop any line written after it (a kill between the two writes).
        var history = MetricsCsv.Read(metricsPath).Where(m => m.Epoch <= completed).ToList();
        MetricsCsv.Start(metricsPath, model.Kind, history);
        reporter.Message($"gpuae: resuming {model.Kind} from {path} at epoch {position.Epoch}, step {step}");
        return Continue(backend, model, options, train, test, folder, position, step, history, reporter, cancel);
    }

    static int StepsPerEpoch(int count, int batch) => (count + batch - 1) / batch;

    /// <summary>The training sums of an interrupted epoch, as <see cref="Save"/> wrote them (one per <see cref="Slot"/>).</summary>
    static float[] ParseSums(string text, string path)
    {
        var parts = text.Split(',');
        var sums = new float[(int)Slot.Count];
        if (parts.Length != sums.Length) throw new UserError($"{path}: metadata 'sums' holds {parts.Length} numbers, this version keeps {sums.Length}");
        for (int i = 0; i < sums.Length; i++)
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out sums[i]))
                throw new UserError($"{path}: metadata 'sums' is not a list of numbers");
        return sums;
    }

    static (IModel, List<EpochMetrics>) Continue(IBackend backend, IModel model, TrainOptions options, Dataset train, Dataset test,
        string folder, EpochPosition position, long step, List<EpochMetrics> history, ITrainingReporter reporter, CancellationToken cancel)
    {
        // The trainer's tensors (its copies of the data sets, the batch, the schedule) are freed when the run ends; the
        // model, allocated before, stays.
        using var trainerMemory = backend.Scope();
        // A classifier fits all but its validation split and is chosen on it; the checkpoint still records the whole
        // training set (its size and fingerprint), which --resume splits the same way.
        var (fit, validation) = model.Kind.Family == ModelFamily.Classifier ? train.SplitLast(Classifier.ValidationImages(train.Count)) : (train, null);
        using var trainer = new Trainer(backend, model, fit, test, options, validation) { Step = step };
        string metricsPath = Path.Combine(folder, "metrics.csv"), checkpoint = Path.Combine(folder, Checkpoint.FileName);
        string rates = model is IPartedModel parted
            ? "learning rates " + string.Join(", ", parted.Parts.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Name} {p.LearningRate}")))
            : string.Create(CultureInfo.InvariantCulture, $"lr {options.LearningRate}");
        string images = validation is null ? $"{train.Count} images" : $"{fit.Count} images ({validation.Count} more held out to choose the epoch)";
        reporter.Message($"gpuae: training {model.Kind} on {backend.DeviceName}: {images}, batch {options.Batch}, {rates}, seed {options.Seed}"
            + (trainer.ReplaysCudaGraphs ? ", steps replayed as CUDA graphs" : ""));
        while (position.Epoch <= options.Epochs)
        {
            EpochMetrics? done;
            EpochPosition? stopped;
            try
            {
                (done, stopped) = trainer.RunEpoch(position, reporter.Progress, cancel);
            }
            catch (TrainingDiverged e)
            {
                string kept = File.Exists(checkpoint) ? $"the last good checkpoint, {checkpoint}, is intact" : "no checkpoint had been written yet";
                throw new UserError($"training stopped: the loss became NaN or infinite at step {e.Step} (epoch {position.Epoch}); {kept}. Try a smaller --lr");
            }
            if (stopped is not null)
            {
                Save(backend, model, options, train, test, trainer.Step, stopped, checkpoint);
                reporter.Message($"gpuae: interrupted at step {trainer.Step} (epoch {stopped.Epoch}, row {stopped.NextRow}); wrote {checkpoint}. Continue with --resume {folder}");
                return (model, history);
            }
            var finished = done!;
            history.Add(finished);
            MetricsCsv.Append(metricsPath, finished);
            if (model.Kind.IsAdversarial && CollapseWatch.Stop(history, options.CollapseEpochs) is { } collapse)
            {
                reporter.EpochDone(model.Kind, options.Epochs, finished);
                string kept = File.Exists(checkpoint) ? $"the checkpoint of epoch {finished.Epoch - 1}, {checkpoint}, is kept" : "no checkpoint had been written yet";
                throw new UserError($"training stopped: {collapse}; {kept}. Try a smaller --lr-dis or a larger --gamma (--collapse-epochs 0 trains on regardless)");
            }
            Save(backend, model, options, train, test, trainer.Step, new EpochPosition(finished.Epoch + 1, 0, 0f), checkpoint);
            if (finished.Validation is { } v && history.All(h => h.Validation!.Loss >= v.Loss))
                Save(backend, model, options, train, test, trainer.Step, new EpochPosition(finished.Epoch + 1, 0, 0f), Path.Combine(folder, Classifier.ChosenFileName),
                    ChosenBy(finished.Epoch, v, validation!.Count));
            reporter.EpochDone(model.Kind, options.Epochs, finished);
            position = new EpochPosition(finished.Epoch + 1, 0, 0f);
        }
        reporter.Message($"gpuae: wrote {metricsPath} and {checkpoint}");
        return (model, history);
    }

    /// <summary>What chose an epoch's checkpoint as the classifier's chosen one (saved beside the epoch's own checkpoint):
    /// the epoch and its validation loss and accuracy (ties go to the later epoch).</summary>
    static Dictionary<string, string> ChosenBy(int epoch, EvalMetrics validation, int images) => new()
    {
        ["chosen_epoch"] = $"{epoch}", ["validation_images"] = $"{images}",
        ["validation_loss"] = validation.Loss.ToString("R", CultureInfo.InvariantCulture),
        ["validation_accuracy"] = validation.Accuracy.ToString("R", CultureInfo.InvariantCulture),
    };

    /// <summary>Writes the checkpoint for a run about to start <paramref name="next"/>: "epoch" is the last completed
    /// epoch, and a run stopped inside an epoch also records its row and partial loss sum; <paramref name="extra"/>
    /// adds to the metadata.</summary>
    static void Save(IBackend backend, IModel model, TrainOptions options, Dataset train, Dataset test, long step, EpochPosition next, string path,
        IReadOnlyDictionary<string, string>? extra = null)
    {
        var metadata = new Dictionary<string, string>
        {
            ["epochs"] = $"{options.Epochs}", ["batch"] = $"{options.Batch}", ["seed"] = $"{options.Seed}",
            ["lr"] = options.LearningRate.ToString("R", CultureInfo.InvariantCulture), ["collapse_epochs"] = $"{options.CollapseEpochs}", ["device"] = backend.DeviceName,
            ["train_images"] = $"{train.Count}", ["train_sha256"] = train.Fingerprint, ["test_sha256"] = test.Fingerprint, ["epoch"] = $"{next.Epoch - 1}", ["step"] = $"{step}", ["format"] = "pt",
        };
        if (next.NextRow > 0)
        {
            metadata["next_row"] = $"{next.NextRow}";
            metadata["loss_sum"] = next.LossSum.ToString("R", CultureInfo.InvariantCulture);
            if (next.Sums is { } sums) metadata["sums"] = string.Join(",", sums.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
        }
        foreach (var (key, value) in extra ?? new Dictionary<string, string>()) metadata[key] = value;
        Checkpoint.Save(path, backend, model, metadata);
    }
}
