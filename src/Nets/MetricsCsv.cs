using System.Globalization;

namespace GpuAe.Nets;

/// <summary>metrics.csv: one line per epoch, appended and flushed as soon as the epoch ends so a killed run keeps it.</summary>
public static class MetricsCsv
{
    public const string Header = "epoch,seconds,train_loss,test_loss,test_bce,test_kl,test_mse";

    public static void Start(string path) => File.WriteAllText(path, Header + "\n");

    public static string Format(EpochMetrics m) => string.Join(",",
        m.Epoch.ToString(CultureInfo.InvariantCulture),
        m.Seconds.ToString("F3", CultureInfo.InvariantCulture),
        m.TrainLoss.ToString("R", CultureInfo.InvariantCulture),
        m.TestLoss.ToString("R", CultureInfo.InvariantCulture),
        m.TestBce.ToString("R", CultureInfo.InvariantCulture),
        m.TestKl.ToString("R", CultureInfo.InvariantCulture),
        m.TestMse.ToString("R", CultureInfo.InvariantCulture));

    public static void Append(string path, EpochMetrics m) => File.AppendAllText(path, Format(m) + "\n");
}
