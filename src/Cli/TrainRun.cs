using System.Globalization;
using GpuAe.Kernels;
using GpuAe.Nets;

namespace GpuAe.Cli;

/// <summary>`gpuae train`: validates the flags, loads the data, trains, writes metrics.csv and the weights.</summary>
public sealed record TrainRun(ModelSpec Spec, TrainOptions Options, string Device, string? DataFolder, int? Limit, string OutputFolder)
{
    public int Execute(TextWriter stdout)
    {
        if (Options.Epochs < 1) throw new UserError($"--epochs must be at least 1 (got {Options.Epochs})");
        if (Options.Batch < 1) throw new UserError($"--batch must be at least 1 (got {Options.Batch})");
        if (!(Options.LearningRate > 0) || float.IsInfinity(Options.LearningRate)) throw new UserError($"--lr must be a positive number (got {Options.LearningRate})");
        if (Limit is < 1) throw new UserError($"--limit must be at least 1 (got {Limit})");
        if (Spec.Latent < 1) throw new UserError($"--latent must be at least 1 (got {Spec.Latent})");
        if (!(Spec.Beta >= 0) || float.IsInfinity(Spec.Beta)) throw new UserError($"--beta must be 0 or more (got {Spec.Beta})");
        if (Spec.KlWarmupEpochs < 0) throw new UserError($"--kl-warmup must be 0 or more epochs (got {Spec.KlWarmupEpochs})");

        var (train, test) = FashionMnist.Load(FashionMnist.ResolveFolder(DataFolder));
        if (Limit is int limit) train = train.Take(limit);
        if (Options.Batch > train.Count) throw new UserError($"--batch {Options.Batch} is larger than the {train.Count} training images");
        var output = PrepareOutput(OutputFolder);

        using var backend = Backends.Open(Device);
        var model = Models.Create(backend, Spec, Options.Batch, stepsPerEpoch: (train.Count + Options.Batch - 1) / Options.Batch);
        model.Initialise(Options.Seed);
        var trainer = new Trainer(backend, model, train, test, Options);
        stdout.WriteLine($"gpuae: training {Spec.Kind} on {backend.DeviceName}: {train.Count} images, batch {Options.Batch}, lr {Options.LearningRate}, seed {Options.Seed}");

        string metricsPath = Path.Combine(output, "metrics.csv");
        MetricsCsv.Start(metricsPath);
        for (int epoch = 1; epoch <= Options.Epochs; epoch++)
        {
            var m = trainer.RunEpoch(epoch);
            MetricsCsv.Append(metricsPath, m);
            string kl = Spec.Kind == "vae" ? string.Create(CultureInfo.InvariantCulture, $" (BCE {m.TestBce:F3} + KL {m.TestKl:F3})") : "";
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {m.Epoch,3}/{Options.Epochs}  {m.Seconds,7:F2} s  train loss {m.TrainLoss,8:F3}  test loss {m.TestLoss,8:F3}{kl}  test MSE {m.TestMse:F5}"));
        }
        var metadata = new Dictionary<string, string>
        {
            ["epochs"] = $"{Options.Epochs}", ["batch"] = $"{Options.Batch}", ["seed"] = $"{Options.Seed}",
            ["lr"] = Options.LearningRate.ToString("R", CultureInfo.InvariantCulture), ["device"] = backend.DeviceName,
        };
        Checkpoint.Save(Path.Combine(output, Checkpoint.FileName), backend, model, metadata);
        stdout.WriteLine($"gpuae: wrote {metricsPath} and {Path.Combine(output, Checkpoint.FileName)}");
        return 0;
    }

    static string PrepareOutput(string folder)
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
}
