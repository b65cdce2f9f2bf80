using System.Globalization;
using System.Text.Json;
using GpuAe.Kernels;

namespace GpuAe.Nets.Report;

/// <summary>The report's files of numbers, every metric of them from <see cref="Metrics.All"/>.</summary>
public static class MetricFiles
{
    static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
    static string? Code(ConfigKey c) => c.IsVae ? null : c.Code == Activation.Relu ? "relu" : "linear";

    /// <summary>metrics.csv's first line.</summary>
    public static string CsvHeader => string.Join(",", ["model", "latent", "code", "beta", "seed", "epochs", .. Metrics.In(Written.Csv).Select(m => m.Column), "device"]);

    /// <summary>metrics.csv's line of one run, scored on <paramref name="device"/>.</summary>
    public static string CsvRow(RunResult m, string device) =>
        string.Join(",", [m.Key.Kind, $"{m.Key.Latent}", Code(m.Key.Config) ?? "", m.Key.IsVae ? F(m.Key.Beta) : "", $"{m.Key.Seed}", $"{m.Epochs}",
            .. Metrics.In(Written.Csv).Select(metric => metric.Read(m) is double v ? F(v) : ""), $"\"{device}\""]);

    /// <summary>metrics.csv (a row per run) and metrics.json (the runs, a summary per configuration, the classifier and
    /// the reference numbers), their metrics those of <see cref="Metrics.All"/>.</summary>
    public static void Write(string output, ReportSummary s)
    {
        var lines = new List<string> { CsvHeader };
        lines.AddRange(s.Study.Runs.Select(m => CsvRow(m, s.Device)));
        AtomicFile.WriteAllLines(Path.Combine(output, "metrics.csv"), lines);
        // A configuration's keys, then its metrics (null where no run has the metric).
        OrderedDictionary<string, object?> Keys(ConfigKey c) => new()
            { ["model"] = c.Kind, ["latent"] = c.Latent, ["code"] = Code(c), ["beta"] = c.IsVae ? c.Beta : null };
        OrderedDictionary<string, object?> Run(RunResult m)
        {
            var run = Keys(m.Key.Config);
            run["seed"] = m.Key.Seed;
            run["epochs"] = m.Epochs;
            foreach (var metric in Metrics.In(Written.RunJson)) run[metric.Column] = metric.JsonValue(m);
            return run;
        }
        OrderedDictionary<string, object?> Configuration(ConfigKey c)
        {
            var configuration = Keys(c);
            foreach (var metric in Metrics.In(Written.SummaryJson))
                configuration[metric.Column] = metric.Of(s.Study, c) is { Count: > 0 } st
                    ? new { mean = st.Mean, sd = double.IsNaN(st.Sd) ? (double?)null : st.Sd, seeds = st.Count } : null;
            return configuration;
        }
        var json = new
        {
            device = s.Device,
            runs = s.Study.Runs.Select(Run),
            configurations = s.Study.Configs.Select(Configuration),
            classifier = new { folder = s.Scorer.Folder, test_accuracy = s.Scorer.TestAccuracy, frechet_train_vs_test = s.Scorer.TrainTestDistance,
                frechet_floor_training_images = s.Scorer.FloorImages,
                chosen_epoch = s.Scorer.Choice.Epoch, epochs = s.Scorer.Choice.Epochs, validation_loss = s.Scorer.Choice.ValidationLoss,
                validation_accuracy = s.Scorer.Choice.ValidationAccuracy, validation_images = s.Scorer.Choice.ValidationImages },
            test_set_empty_share = s.Measured.TestEmptyShare,
            test_set_saturated_share = s.Measured.TestSaturatedShare,
            test_set_sharpness = s.Measured.TestSharpness,
            notebook_ae_pca2_knn5_accuracy = s.Measured.NotebookAePca.KnnAccuracy,
        };
        AtomicFile.WriteAllText(Path.Combine(output, "metrics.json"), JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }
}
