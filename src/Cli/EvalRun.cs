using System.Globalization;
using System.Text.Json;
using GpuAe.Kernels;
using GpuAe.Nets.Checkpoints;
using GpuAe.Nets.Data;
using GpuAe.Nets.Model;
using GpuAe.Nets.Training;
using GpuAe.Nets;

namespace GpuAe.Cli;

/// <summary>`gpuae eval`: loads a checkpoint, scores it on the test set (and the IWAE bound for a VAE), writes eval.json.</summary>
public sealed record EvalRun(string Path, int IwaeSamples, int Batch, string Device, string? DataFolder, int? TestLimit)
{
    public int Execute(TextWriter stdout)
    {
        if (IwaeSamples < 0) throw new UserError($"--iwae-k must be 0 or more (got {IwaeSamples})");
        if (Batch < 1) throw new UserError($"--batch must be at least 1 (got {Batch})");
        string checkpoint = Checkpoint.Find(Path);
        var test = Data.CutTest(FashionMnist.LoadSplit(FashionMnist.ResolveFolder(DataFolder), "t10k"), TestLimit);

        using var backend = Backends.Open(Device);
        var (model, metadata) = Models.Load(backend, checkpoint, Batch);
        var evaluator = new Evaluator(backend, model, DeviceImages.For(backend, model, test), Batch);
        var m = evaluator.Run();
        var results = new Dictionary<string, object>
        {
            ["checkpoint"] = checkpoint, ["model"] = model.Kind.Name, ["device"] = backend.DeviceName, ["test_images"] = test.Count,
            ["test_loss"] = m.Loss, ["test_bce"] = m.Bce, ["test_kl"] = m.Kl, ["test_mse"] = m.Mse, ["test_bce_mu"] = m.BceMu,
        };
        if (model is Classifier)
        {
            results["test_accuracy"] = m.Accuracy;
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{model.Kind} on {test.Count} test images ({backend.DeviceName}): cross-entropy {m.Loss:F4} nats/image, accuracy {m.Accuracy * 100:F2} %"));
        }
        else stdout.WriteLine(model is VariationalAutoencoder
            ? string.Create(CultureInfo.InvariantCulture, $"{model.Kind} on {test.Count} test images ({backend.DeviceName}): sampled negative ELBO {m.Loss:F3} = BCE {m.Bce:F3} (one z ~ q(z|x) per image) + KL {m.Kl:F3} nats/image; decoded from z = μ: BCE {m.BceMu:F3}, MSE {m.Mse:F5}/pixel")
            : string.Create(CultureInfo.InvariantCulture, $"{model.Kind} on {test.Count} test images ({backend.DeviceName}): loss = BCE {m.Loss:F3} nats/image, MSE {m.Mse:F5}/pixel"));
        if (model is VariationalAutoencoder && IwaeSamples > 0)
        {
            double bound = evaluator.ImportanceWeightedBound(IwaeSamples);
            results["iwae_k"] = IwaeSamples;
            results["iwae_bound"] = bound;
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"IWAE bound on the BCE objective (k={IwaeSamples}): {bound:F3} nats/image (not a normalised NLL: grey-level pixels under a Bernoulli likelihood)"));
        }
        if (metadata.TryGetValue("test_sha256", out var fingerprint))
        {
            bool same = fingerprint == test.Fingerprint;
            results["test_data_matches_run"] = same;
            if (!same) stdout.WriteLine("note: these test images differ from the ones the run was evaluated on during training (another --data): its metrics.csv is not comparable");
        }
        string output = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(checkpoint))!, "eval.json");
        GpuAe.Nets.AtomicFile.WriteAllText(output, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }) + "\n");
        stdout.WriteLine($"gpuae: wrote {output}");
        return 0;
    }
}
