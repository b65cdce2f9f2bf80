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

    /// <summary>The report predicts the class of generated images from the features it already has (the head alone): the
    /// same logits, so the same classes, as the whole network on the images, here for 1,000 test images through the
    /// committed classifier (ties and near-ties included: a class chosen from other logits would differ somewhere).</summary>
    [Fact]
    public void PredictionsFromFeaturesAreThePredictionsFromImages()
    {
        var be = TestBackends.Get("simd512");
        var (model, _) = Models.Load(be, Path.Combine(Repository.Classifier, Classifier.ChosenFileName), 128);
        var classifier = (Classifier)model;
        const int count = 1000;
        var features = Inference.Encode(be, classifier, RealData.Test.Pixels, count);
        var fromImages = Inference.Predict(be, classifier, RealData.Test.Pixels, count);
        Assert.Equal(fromImages, Inference.PredictFromFeatures(be, classifier, features, count));
        Assert.True(fromImages.Distinct().Count() == Classifier.Classes); // not vacuous: every class is predicted
    }

    /// <summary>The committed checkpoint (reports/classifier/chosen.safetensors, made by `gpuae train classifier --epochs 12
    /// --out reports/classifier`) classifies the 10,000 real test images with at least 90 % accuracy.</summary>
    [Fact]
    public void CommittedClassifierIsAtLeast90PercentAccurateOnTheTestSet()
    {
        var be = TestBackends.Get("simd512");
        var (model, _) = Models.Load(be, Path.Combine(Repository.Classifier, Classifier.ChosenFileName), 128);
        var accuracy = new Evaluator(be, model, DeviceImages.Upload(be, RealData.Test, Classifier.Classes), 128).Run().Accuracy;
        Assert.Equal(10000, RealData.Test.Count);
        Assert.True(accuracy >= 0.90, $"test accuracy {accuracy:P2}");
    }
}

/// <summary>The classifier is chosen on images held out of its training set, never on the test set.</summary>
public class ClassifierChoiceTests : TempFolderTest
{
    /// <summary>Three epochs on 1,200 images: the last twelfth (100) is held out, metrics.csv has its loss and accuracy per
    /// epoch, and chosen.safetensors holds the weights of the epoch with the lowest validation loss, with that epoch and
    /// loss in its metadata. Mutants caught: choosing by the test loss (the test set's minimum is at another epoch here),
    /// choosing the last epoch, training on the held-out images (the validation count and the weights differ).</summary>
    [Fact]
    public void TheEpochWithTheLowestValidationLossIsSavedAsTheChosenCheckpoint()
    {
        var be = TestBackends.Get("simd512");
        var train = RealData.Train.Take(1200);
        TrainingSession.Run(be, new ModelSpec("classifier"), new TrainOptions(3, 100, 3e-3f, 5), train, RealData.Test.Take(300), Folder, TextWriter.Null);
        var lines = File.ReadAllLines(Path.Combine(Folder, "metrics.csv"));
        Assert.Equal(MetricsCsv.ClassifierHeader, lines[0]);
        var epochs = MetricsCsv.Read(Path.Combine(Folder, "metrics.csv"));
        var best = epochs.MinBy(e => e.Validation!.Loss)!;
        var metadata = GpuAe.Nets.Checkpoints.SafeTensors.Read(Path.Combine(Folder, Classifier.ChosenFileName)).Metadata;
        Assert.Equal($"{best.Epoch}", metadata["chosen_epoch"]);
        Assert.Equal(best.Validation!.Loss, double.Parse(metadata["validation_loss"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("100", metadata["validation_images"]);
        // The held-out images are scored by the chosen weights exactly as metrics.csv says: they are the last 100.
        var (chosen, _) = Models.Load(be, Path.Combine(Folder, Classifier.ChosenFileName), 100);
        var (_, heldOut) = train.SplitLast(Classifier.ValidationImages(train.Count));
        var again = new Evaluator(be, chosen, DeviceImages.Upload(be, heldOut, Classifier.Classes), 100).Run();
        Assert.Equal(best.Validation.Loss, again.Loss, 6);
        Assert.Equal(best.Validation.Accuracy, again.Accuracy, 6);
    }
}
