using GpuAe.Kernels;
using GpuAe.Nets.Model;
using GpuAe.Nets.Training;
using Xunit;

namespace GpuAe.Tests.Nets;

/// <summary>The classifier that scores generated images: its gradients, and the committed checkpoint's accuracy.</summary>
public class ClassifierTests
{
    /// <summary>A whole step on the CPU accelerator: 20 parameters of each weight and bias (the model has 830,000)
    /// against central differences of the batch's mean cross-entropy.</summary>
    [Fact]
    public void StepGradientsMatchFiniteDifferences()
    {
        const int rows = 3;
        var be = Cpu.Backend;
        var model = new Classifier(be, rows);
        var p = model.Parameters;
        // Weights small enough and biases of ±0.5 large enough that every ReLU input stays far from 0 (channels with
        // −0.5 stay dead, the others stay on): no finite difference crosses a kink, and the masks are still exercised.
        var values = Values.Random(p.Length, 71, 1f);
        var weightScale = new Dictionary<string, float> { ["net.0"] = 0.05f, ["net.2"] = 0.02f, ["net.5"] = 0.002f, ["net.7"] = 0.5f };
        foreach (var e in p.Entries)
        {
            string layer = e.Name[..e.Name.LastIndexOf('.')];
            for (int i = 0; i < e.Length; i++)
                values[e.Offset + i] = e.Name.EndsWith(".bias")
                    ? (layer == "net.7" ? 0.1f * values[e.Offset + i] : i % 2 == 0 ? 0.5f : -0.5f)
                    : weightScale[layer] * values[e.Offset + i];
        }
        be.Upload(p.Values, values);
        var x = be.Up(Values.Uniform01(rows * 784, 72));
        var targets = new float[rows * Classifier.Classes];
        for (int r = 0; r < rows; r++) targets[r * Classifier.Classes + (r * 3) % Classifier.Classes] = 1f;
        model.UseTargets(be.Up(targets));
        var acc = be.Allocate((int)Slot.Count);
        double Loss()
        {
            be.Fill(acc, 0f);
            model.TrainStep(x, rows, 1, acc);
            return be.Down(acc)[(int)Slot.TrainLoss] / rows;
        }
        Loss();
        var analytic = be.Down(p.Gradients);
        var chosen = p.Entries.SelectMany(e => Enumerable.Range(0, 20).Select(i => e.Offset + (int)((long)i * 7919 % e.Length))).Distinct().ToArray();
        foreach (int i in chosen)
        {
            const float eps = 1e-3f;
            float saved = values[i];
            values[i] = saved + eps; be.Upload(p.Values, values); double plus = Loss();
            values[i] = saved - eps; be.Upload(p.Values, values); double minus = Loss();
            values[i] = saved; be.Upload(p.Values, values);
            double numeric = (plus - minus) / (2 * eps);
            // Loss ≈ 2.3 nats in float32: rounding ≈ 2.4e-7 · 2.3 / 1e-3 ≈ 5e-4 of the quotient, plus O(eps²) curvature: 2e-3 absolute or 2 %.
            Assert.True(Math.Abs(numeric - analytic[i]) <= 2e-3 + 0.02 * Math.Abs(numeric),
                $"parameter {i} ({p.Entries.Last(e => e.Offset <= i).Name}): finite differences {numeric:E3}, gradient {analytic[i]:E3}");
        }
        Assert.Contains(chosen, i => Math.Abs(analytic[i]) > 1e-3); // the check is not vacuous
    }

    /// <summary>The committed checkpoint (reports/classifier, made by `gpuae train classifier --epochs 12 --out
    /// reports/classifier`) classifies the 10,000 real test images with at least 90 % accuracy.</summary>
    [Fact]
    public void CommittedClassifierIsAtLeast90PercentAccurateOnTheTestSet()
    {
        var be = TestBackends.Get("simd512");
        var (model, _) = Models.Load(be, Path.Combine(Repository.Classifier, GpuAe.Nets.Checkpoints.Checkpoint.FileName), 128);
        var accuracy = new Evaluator(be, model, DeviceImages.Upload(be, RealData.Test, Classifier.Classes), 128).Run().Accuracy;
        Assert.Equal(10000, RealData.Test.Count);
        Assert.True(accuracy >= 0.90, $"test accuracy {accuracy:P2}");
    }
}
