using GpuAe.Kernels;
using GpuAe.Nets.Data;
using GpuAe.Nets.Model;
using GpuAe.Nets.Training;
using GpuAe.Nets;
using Xunit;

namespace GpuAe.Tests.Nets;

/// <summary>Training on the real Fashion-MNIST images, on the ILGPU CPU accelerator.</summary>
public class TrainingTests
{
    /// <summary>320 steps (10 epochs of 2,000 images, batch 64). An untrained AE scores ≈545 nats per image (≈ 784·ln 2);
    /// the same run measured here reaches ≈237 (0.44×) after 320 steps, so "below 0.55× the untrained loss" has a wide
    /// margin yet fails for a model that only learns the mean image (383 nats on these images, 0.70×).</summary>
    [Fact]
    public void AeLossFallsBelowAboutHalfOfTheUntrainedLossOnRealData()
    {
        var be = Cpu.Backend;
        var train = RealData.Train.Take(2000);
        var model = new Autoencoder(be, 64);
        model.Initialise(42);
        var trainer = new Trainer(be, model, train, train, new TrainOptions(Epochs: 10, Batch: 64, Seed: 42));
        double untrained = trainer.Evaluate().Loss;
        EpochMetrics last = null!;
        for (int epoch = 1; epoch <= 10; epoch++) last = trainer.RunEpoch(epoch);
        Assert.Equal(320, trainer.Step);
        Assert.InRange(untrained, 500, 600);
        Assert.True(last.TrainLoss < 0.55 * untrained, $"train loss {last.TrainLoss:F1} after 320 steps, untrained {untrained:F1}");
        Assert.True(last.TestLoss < last.TrainLoss * 1.05, "the last epoch's loss measured after it should not exceed its running mean");
    }

    [Fact]
    public void SameSeedGivesIdenticalMetrics()
    {
        var be = Cpu.Backend;
        var train = RealData.Train.Take(512);
        var test = RealData.Test.Take(256);
        EpochMetrics[] Run()
        {
            var model = new Autoencoder(be, 128);
            model.Initialise(7);
            var trainer = new Trainer(be, model, train, test, new TrainOptions(Epochs: 2, Batch: 128, Seed: 7));
            return [trainer.RunEpoch(1) with { Seconds = 0 }, trainer.RunEpoch(2) with { Seconds = 0 }];
        }
        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void ShuffleIsAPermutationThatChangesEachEpoch()
    {
        var first = Trainer.ShuffledOrder(1000, 42, 1);
        Assert.Equal(Enumerable.Range(0, 1000), first.Order());
        Assert.NotEqual(first, Trainer.ShuffledOrder(1000, 42, 2));
        Assert.Equal(first, Trainer.ShuffledOrder(1000, 42, 1));
    }

    /// <summary>Training with the per-step numbers read from the step record (the CUDA graph's way, launched kernel by
    /// kernel) is bit for bit training with them as launch arguments: over a short last batch, a VAE's KL warm-up and
    /// noise, and an epoch resumed mid-way (its schedule starts at that row).</summary>
    [Theory]
    [InlineData("cpu", "ae")]
    [InlineData("cpu", "vae")]
    [InlineData("simd256", "vae")]
    public void StepRecordTrainingEqualsLaunchArgumentTraining(string backend, string kind)
    {
        var be = TestBackends.Get(backend);
        static Dataset Synthetic(int count, int seed) => new(Values.Uniform01(count * 784, seed), new byte[count], count, 784);
        var train = Synthetic(300, 1); var test = Synthetic(64, 2); // batch 64: four full steps and one of 44 rows
        (EpochMetrics, EpochMetrics, float[]) Run(StepMode mode)
        {
            var model = Models.Create(be, new ModelSpec(kind, KlWarmupEpochs: 1), 64, stepsPerEpoch: 5);
            model.Initialise(3);
            using var trainer = new Trainer(be, model, train, test, new TrainOptions(Epochs: 2, Batch: 64, Seed: 5) { Steps = mode });
            Assert.Equal(mode, trainer.Mode);
            var first = trainer.RunEpoch(1) with { Seconds = 0 };
            var resumed = trainer.RunEpoch(new EpochPosition(2, 128, 0f), null, CancellationToken.None).Completed! with { Seconds = 0 };
            Assert.Equal(8, trainer.Step);
            return (first, resumed, be.Down(model.Parameters.Values));
        }
        var launched = Run(StepMode.Arguments);
        var recorded = Run(StepMode.Record);
        Assert.Equal(launched.Item1, recorded.Item1);
        Assert.Equal(launched.Item2, recorded.Item2);
        Assert.Equal(launched.Item3, recorded.Item3);
    }

    /// <summary>With an absurd learning rate the loss stops being finite; through the step record the NaN flag names
    /// the same step (Adam reads it from the record), and a step past the first: the record was read, not a zero.</summary>
    [Theory]
    [InlineData("cpu")]
    [InlineData("simd256")]
    public void DivergenceIsFlaggedAtTheSameStepThroughTheStepRecord(string backend)
    {
        var be = TestBackends.Get(backend);
        var data = new Dataset(Values.Uniform01(640 * 784, 9), new byte[640], 640, 784);
        long DivergedAt(StepMode mode)
        {
            var model = new Autoencoder(be, 64);
            model.Initialise(1);
            using var trainer = new Trainer(be, model, data, data, new TrainOptions(Batch: 64, LearningRate: 1e30f) { Steps = mode }) { HostReadInterval = 1 };
            return Assert.Throws<TrainingDiverged>(() => trainer.RunEpoch(1)).Step;
        }
        long launched = DivergedAt(StepMode.Arguments);
        Assert.InRange(launched, 2, 10);
        Assert.Equal(launched, DivergedAt(StepMode.Record));
    }

    [Fact]
    public void CudaGraphModeOffCudaIsAUserError()
    {
        var be = Cpu.Backend;
        var data = new Dataset(new float[64 * 784], new byte[64], 64, 784);
        var model = new Autoencoder(be, 64);
        var error = Assert.Throws<UserError>(() => new Trainer(be, model, data, data, new TrainOptions(Batch: 64) { Steps = StepMode.CudaGraph }));
        Assert.Contains("--device cuda", error.Message);
    }
}
