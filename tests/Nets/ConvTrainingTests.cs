using GpuAe.Nets.Model;
using GpuAe.Nets.Training;
using GpuAe.Nets;
using Xunit;

namespace GpuAe.Tests.Nets;

/// <summary>The convolutional models trained on the real Fashion-MNIST images. On the SIMD backend: a conv step costs
/// ~20× a dense one, too slow for the CPU accelerator at these budgets; the conv kernels' agreement between the
/// backends is tested on small shapes and by `gpuae check`.</summary>
public class ConvTrainingTests
{
    static (double Untrained, EpochMetrics Last) Train(string kind, int images, int epochs, out IModel model)
    {
        var be = TestBackends.Get("simd512");
        var train = RealData.Train.Take(images);
        model = Models.Create(be, new ModelSpec(kind), 64, (images + 63) / 64);
        model.Initialise(42);
        var trainer = new Trainer(be, model, train, RealData.Test.Take(1000), new TrainOptions(Epochs: epochs, Batch: 64, Seed: 42));
        double untrained = trainer.Evaluate().Loss;
        EpochMetrics last = null!;
        for (int epoch = 1; epoch <= epochs; epoch++) last = trainer.RunEpoch(epoch);
        return (untrained, last);
    }

    /// <summary>320 steps (10 epochs of 2,000 images, batch 64), as the dense AE's test. Measured: untrained 543.4 nats;
    /// after 320 steps conv-ae 236.1 (0.43×), conv-vae 288.8 (0.53×); a model that learned only the mean image sits at 0.70×.</summary>
    [Theory, InlineData("conv-ae", 0.55), InlineData("conv-vae", 0.65)]
    public void LossFallsWellBelowTheUntrainedLossOnRealData(string kind, double ratio)
    {
        var (untrained, last) = Train(kind, 2000, 10, out _);
        Assert.InRange(untrained, 500, 600);
        Assert.True(last.TrainLoss < ratio * untrained, $"{kind}: train loss {last.TrainLoss:F1} after 320 steps, untrained {untrained:F1}");
        Assert.True(last.TestLoss < ratio * untrained, $"{kind}: test loss {last.TestLoss:F1}, untrained {untrained:F1}");
    }

    /// <summary>The reason for the convolutional models: on the same images, steps and seed the conv-AE reconstructs the
    /// held-out images better than the dense AE (the full-data comparison is in the report). Measured: test MSE 0.02017
    /// against 0.02068 after 6 epochs of 4,000 images. A small margin, but the SIMD backend is deterministic (fixed
    /// summation order whatever the thread count), so the test does not flicker. The dense AE must also score what it
    /// scored (within 3 %): the comparison alone passed when the dense AE got worse (issue 36 item 6), and the conv-AE
    /// must stay within 3 % of its own number, so a regression in either model shows.</summary>
    [Fact]
    public void ConvAeReconstructsBetterThanTheDenseAeOnTheSameBudget()
    {
        var (_, conv) = Train("conv-ae", 4000, 6, out _);
        var (_, dense) = Train("ae", 4000, 6, out _);
        Assert.True(conv.TestMse < dense.TestMse, $"test MSE: conv-ae {conv.TestMse:F5}, dense ae {dense.TestMse:F5}");
        Assert.InRange(dense.TestMse, 0.02068 * 0.97, 0.02068 * 1.03);
        Assert.InRange(conv.TestMse, 0.02017 * 0.97, 0.02017 * 1.03);
    }
}
