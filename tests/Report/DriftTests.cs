using GpuAe.Kernels;
using GpuAe.Nets.Checkpoints;
using GpuAe.Nets.Model;
using GpuAe.Nets.Report;
using GpuAe.Nets.Training;
using GpuAe.Tests.Nets;
using Xunit;

namespace GpuAe.Tests.Report;

/// <summary>The committed study against the committed code. Two of the four runs whose checkpoints are committed (the AE and the VAE at 2-D: an
/// AE's generation from fitted codes, a VAE's from the prior and its IWAE; the CVAE and the notebook's AE would add about
/// 25 s to the suite) are measured
/// again as `gpuae report` measures them (the same test set, classifier, samples, IWAE and scores, on the SIMD backend
/// the study ran on), and each must give its committed line of reports/metrics.csv to the last digit, every column but
/// the device's name. A change to any kernel, the evaluation, the sampling or a score that moves a committed number
/// fails here until reports/ is regenerated. Mutants: the saturated share's threshold 0.9 → 0.91, the IWAE's k off by
/// one, SSIM's window constant C2 doubled → each caught (the first two by one column, the third by the SSIM column).
/// (Regenerating all of reports/ would need every run's checkpoint, about 8 min of evaluation and the git-ignored
/// checkpoints; the text's drift is not tested here.)</summary>
public class DriftTests(DriftTests.Committed committed) : IClassFixture<DriftTests.Committed>
{
    /// <summary>The study's options (the committed defaults), its test images on the device and its scorer.</summary>
    public sealed class Committed
    {
        public readonly IBackend Backend = TestBackends.Get("simd512");
        public readonly ReportOptions Options = new(ClassifierFolder: Repository.Classifier);
        public readonly DeviceImages TestImages;
        public readonly Scorer Scorer;

        public Committed()
        {
            TestImages = DeviceImages.Upload(Backend, RealData.Test, Classifier.Classes);
            Scorer = ReportBuilder.LoadScorer(Backend, Options, RealData.Train, RealData.Test, TestImages, TextWriter.Null);
        }
    }

    [Theory]
    [InlineData("ae-2d-seed42")]
    [InlineData("vae-2d-seed42")]
    public void ACommittedRunMeasuresToItsCommittedMetricsLine(string run)
    {
        var (be, o) = (committed.Backend, committed.Options);
        string folder = Path.Combine(Repository.Root, "reports", "runs", run);
        string checkpoint = Path.Combine(folder, Checkpoint.FileName);
        var (model, metadata) = Models.Load(be, checkpoint, o.Batch);
        var key = ReportBuilder.KeyOf(metadata, checkpoint, o);
        Assert.Equal(run, key.Folder);
        var history = MetricsCsv.Read(Path.Combine(folder, "metrics.csv"));
        using var memory = be.Scope();
        var (result, _, _, _) = ReportBuilder.Measure(be, key, model, history, RealData.Train, RealData.Test, committed.TestImages, o, committed.Scorer);

        string[] Fields(string line) => line[..line.LastIndexOf(",\"", StringComparison.Ordinal)].Split(',');
        var lines = File.ReadAllLines(Path.Combine(Repository.Root, "reports", "metrics.csv"));
        Assert.Equal(MetricFiles.CsvHeader, lines[0]);
        var fresh = Fields(MetricFiles.CsvRow(result, be.DeviceName));
        var committedLine = Assert.Single(lines.Skip(1), l => Fields(l)[..6].SequenceEqual(fresh[..6]));
        var columns = lines[0].Split(',');
        var expected = Fields(committedLine);
        var differing = Enumerable.Range(0, fresh.Length).Where(i => fresh[i] != expected[i]).Select(i => $"{columns[i]}: committed {expected[i]}, now {fresh[i]}").ToList();
        Assert.True(differing.Count == 0, $"{run} no longer measures to its committed line of reports/metrics.csv (regenerate reports/):\n" + string.Join("\n", differing));
    }
}
