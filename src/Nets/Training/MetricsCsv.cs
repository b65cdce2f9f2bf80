using System.Globalization;
using GpuAe.Nets.Model;

namespace GpuAe.Nets.Training;

/// <summary>metrics.csv: one line per epoch, appended and flushed as soon as the epoch ends so a killed run keeps it.</summary>
public static class MetricsCsv
{
    public const string Header = "epoch,seconds,train_loss,test_loss,test_bce,test_kl,test_mse,test_bce_mu";
    /// <summary>A classifier's file: the same columns (its cross-entropy in the loss ones), then its test accuracy, then its
    /// cross-entropy and accuracy on the validation split held out of the training images (which choose its checkpoint).</summary>
    public const string ClassifierHeader = Header + ",test_accuracy,val_loss,val_accuracy";
    /// <summary>An adversarial model's file: the same columns (train_loss is the encoder's loss, β·KL + L_llike), then its
    /// training epoch's adversarial numbers (<see cref="AdversarialMetrics"/>, in order) and whether the collapse watch
    /// counted the epoch (1) or not (0).</summary>
    public static readonly string AdversarialHeader = $"{Header},{string.Join(",", AdversarialMetrics.Columns)},collapse";

    /// <summary>The header of a model kind's file.</summary>
    public static string HeaderOf(ModelKind kind) =>
        kind.Family == ModelFamily.Classifier ? ClassifierHeader : kind.IsAdversarial ? AdversarialHeader : Header;

    /// <summary>Writes the file with its header and <paramref name="epochs"/> (none for a new run; the epochs a resumed
    /// run's checkpoint holds), in one write.</summary>
    public static void Start(string path, ModelKind kind, IEnumerable<EpochMetrics>? epochs = null) =>
        AtomicFile.WriteAllLines(path, (epochs ?? []).Select(Format).Prepend(HeaderOf(kind)));

    static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    public static string Format(EpochMetrics m)
    {
        var fields = new List<string>
        {
            m.Epoch.ToString(CultureInfo.InvariantCulture), m.Seconds.ToString("F3", CultureInfo.InvariantCulture),
            Number(m.TrainLoss), Number(m.TestLoss), Number(m.TestBce), Number(m.TestKl), Number(m.TestMse), Number(m.TestBceMu),
        };
        if (!double.IsNaN(m.TestAccuracy)) fields.Add(Number(m.TestAccuracy));
        if (m.Validation is { } v) fields.AddRange([Number(v.Loss), Number(v.Accuracy)]);
        if (m.Adversarial is { } a)
        {
            fields.AddRange([.. a.Numbers.Select(Number)]);
            fields.Add(CollapseWatch.Symptom(a) is null ? "0" : "1");
        }
        return string.Join(",", fields);
    }

    public static void Append(string path, EpochMetrics m) => AtomicFile.AppendAllText(path, Format(m) + "\n");

    /// <summary>Reads a metrics.csv written by <see cref="Append"/> (for reports made from finished runs, and resumed runs).</summary>
    public static List<EpochMetrics> Read(string path)
    {
        if (!File.Exists(path)) throw new GpuAe.Kernels.UserError($"metrics file not found: {path}");
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0 || (lines[0] != Header && lines[0] != ClassifierHeader && lines[0] != AdversarialHeader))
            throw new GpuAe.Kernels.UserError($"{path} does not start with the header '{Header}' (runs made before test_bce_mu scored the VAE from z = μ: train them again)");
        var result = new List<EpochMetrics>();
        int fields = lines[0].Split(',').Length;
        foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
        {
            var f = line.Split(',');
            double D(int i) => double.TryParse(f[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v
                : throw new GpuAe.Kernels.UserError($"{path}: '{f[i]}' in line '{line}' is not a number: the file is damaged; train the run again");
            if (f.Length != fields) throw new GpuAe.Kernels.UserError($"{path}: line '{line}' does not have {fields} fields");
            var adversarial = lines[0] == AdversarialHeader ? AdversarialMetrics.Of([.. Enumerable.Range(8, AdversarialMetrics.Columns.Count).Select(D)]) : null;
            bool classifier = lines[0] == ClassifierHeader;
            if (!int.TryParse(f[0], NumberStyles.None, CultureInfo.InvariantCulture, out int epoch))
                throw new GpuAe.Kernels.UserError($"{path}: line '{line}' does not start with an epoch number: the file is damaged; train the run again");
            result.Add(new EpochMetrics(epoch, D(1), D(2), D(3), D(4), D(5), D(6), D(7),
                classifier ? D(8) : double.NaN, adversarial, classifier ? new EvalMetrics(D(9), D(9), 0, double.NaN, double.NaN, D(10)) : null));
        }
        return result;
    }
}
