using System.Globalization;

namespace GpuAe.Nets.Training;

/// <summary>metrics.csv: one line per epoch, appended and flushed as soon as the epoch ends so a killed run keeps it.</summary>
public static class MetricsCsv
{
    public const string Header = "epoch,seconds,train_loss,test_loss,test_bce,test_kl,test_mse,test_bce_mu";
    /// <summary>A classifier's file: the same columns (its cross-entropy in the loss ones), then its test accuracy.</summary>
    public const string ClassifierHeader = Header + ",test_accuracy";

    public static void Start(string path, bool accuracy = false) => File.WriteAllText(path, (accuracy ? ClassifierHeader : Header) + "\n");

    public static string Format(EpochMetrics m) => string.Join(",",
        m.Epoch.ToString(CultureInfo.InvariantCulture),
        m.Seconds.ToString("F3", CultureInfo.InvariantCulture),
        m.TrainLoss.ToString("R", CultureInfo.InvariantCulture),
        m.TestLoss.ToString("R", CultureInfo.InvariantCulture),
        m.TestBce.ToString("R", CultureInfo.InvariantCulture),
        m.TestKl.ToString("R", CultureInfo.InvariantCulture),
        m.TestMse.ToString("R", CultureInfo.InvariantCulture),
        m.TestBceMu.ToString("R", CultureInfo.InvariantCulture)) +
        (double.IsNaN(m.TestAccuracy) ? "" : "," + m.TestAccuracy.ToString("R", CultureInfo.InvariantCulture));

    public static void Append(string path, EpochMetrics m) => File.AppendAllText(path, Format(m) + "\n");

    /// <summary>Reads a metrics.csv written by <see cref="Append"/> (for reports made from finished runs).</summary>
    public static List<EpochMetrics> Read(string path)
    {
        if (!File.Exists(path)) throw new GpuAe.Kernels.UserError($"metrics file not found: {path}");
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0 || (lines[0] != Header && lines[0] != ClassifierHeader))
            throw new GpuAe.Kernels.UserError($"{path} does not start with the header '{Header}' (runs made before test_bce_mu scored the VAE from z = μ: train them again)");
        var result = new List<EpochMetrics>();
        int fields = lines[0].Split(',').Length;
        foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
        {
            var f = line.Split(',');
            double D(int i) => double.Parse(f[i], CultureInfo.InvariantCulture);
            if (f.Length != fields) throw new GpuAe.Kernels.UserError($"{path}: line '{line}' does not have {fields} fields");
            result.Add(new EpochMetrics(int.Parse(f[0], CultureInfo.InvariantCulture), D(1), D(2), D(3), D(4), D(5), D(6), D(7), fields > 8 ? D(8) : double.NaN));
        }
        return result;
    }
}
