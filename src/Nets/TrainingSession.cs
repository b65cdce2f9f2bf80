using System.Globalization;
using GpuAe.Kernels;

namespace GpuAe.Nets;

/// <summary>A whole training run as `gpuae train` and `gpuae report` do it: validate, train epoch by epoch,
/// append metrics.csv after each epoch, save the weights at the end.</summary>
public static class TrainingSession
{
    public static void Validate(ModelSpec spec, TrainOptions options)
    {
        if (options.Epochs < 1) throw new UserError($"--epochs must be at least 1 (got {options.Epochs})");
        if (options.Batch < 1) throw new UserError($"--batch must be at least 1 (got {options.Batch})");
        if (!(options.LearningRate > 0) || float.IsInfinity(options.LearningRate)) throw new UserError($"--lr must be a positive number (got {options.LearningRate})");
        if (spec.Latent < 1) throw new UserError($"--latent must be at least 1 (got {spec.Latent})");
        if (!(spec.Beta >= 0) || float.IsInfinity(spec.Beta)) throw new UserError($"--beta must be 0 or more (got {spec.Beta})");
        if (spec.KlWarmupEpochs < 0) throw new UserError($"--kl-warmup must be 0 or more epochs (got {spec.KlWarmupEpochs})");
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

    public static (IModel Model, List<EpochMetrics> Epochs) Run(IBackend backend, ModelSpec spec, TrainOptions options,
        Dataset train, Dataset test, string outputFolder, TextWriter log)
    {
        Validate(spec, options);
        if (options.Batch > train.Count) throw new UserError($"--batch {options.Batch} is larger than the {train.Count} training images");
        PrepareOutput(outputFolder);
        var model = Models.Create(backend, spec, options.Batch, stepsPerEpoch: (train.Count + options.Batch - 1) / options.Batch);
        model.Initialise(options.Seed);
        var trainer = new Trainer(backend, model, train, test, options);
        log.WriteLine($"gpuae: training {spec.Kind} on {backend.DeviceName}: {train.Count} images, batch {options.Batch}, lr {options.LearningRate}, seed {options.Seed}");

        string metricsPath = Path.Combine(outputFolder, "metrics.csv");
        MetricsCsv.Start(metricsPath);
        var epochs = new List<EpochMetrics>();
        for (int epoch = 1; epoch <= options.Epochs; epoch++)
        {
            var m = trainer.RunEpoch(epoch);
            epochs.Add(m);
            MetricsCsv.Append(metricsPath, m);
            string kl = spec.Kind == "vae" ? string.Create(CultureInfo.InvariantCulture, $" (BCE {m.TestBce:F3} + KL {m.TestKl:F3})") : "";
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{spec.Kind} epoch {m.Epoch,3}/{options.Epochs}  {m.Seconds,7:F2} s  train loss {m.TrainLoss,8:F3}  test loss {m.TestLoss,8:F3}{kl}  test MSE {m.TestMse:F5}"));
        }
        var metadata = new Dictionary<string, string>
        {
            ["epochs"] = $"{options.Epochs}", ["batch"] = $"{options.Batch}", ["seed"] = $"{options.Seed}",
            ["lr"] = options.LearningRate.ToString("R", CultureInfo.InvariantCulture), ["device"] = backend.DeviceName,
            ["train_images"] = $"{train.Count}",
        };
        string checkpoint = Path.Combine(outputFolder, Checkpoint.FileName);
        Checkpoint.Save(checkpoint, backend, model, metadata);
        log.WriteLine($"gpuae: wrote {metricsPath} and {checkpoint}");
        return (model, epochs);
    }
}
