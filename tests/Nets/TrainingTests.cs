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
        var be = TestBackends.Get("simd512"); // the backends agree step by step (BackendAgreementTests); the SIMD one is the fast one
        var train = RealData.Train.Take(2000);
        var model = new Autoencoder(be, 64);
        model.Initialise(42);
        var trainer = new Trainer(be, model, train, RealData.Test.Take(1000), new TrainOptions(Epochs: 10, Batch: 64, Seed: 42));
        double untrained = trainer.Evaluate().Loss; // on 1,000 held-out test images
        EpochMetrics last = null!;
        for (int epoch = 1; epoch <= 10; epoch++) last = trainer.RunEpoch(epoch);
        Assert.Equal(320, trainer.Step);
        Assert.InRange(untrained, 500, 600);
        Assert.True(last.TrainLoss < 0.55 * untrained, $"train loss {last.TrainLoss:F1} after 320 steps, untrained {untrained:F1}");
        Assert.True(last.TestLoss < 0.6 * untrained, $"held-out test loss {last.TestLoss:F1}, untrained {untrained:F1}: the model generalises");
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

    /// <summary>The shuffle is uniform, not only a permutation: over 4,000 epochs of 8 rows, each row lands in each
    /// position about equally often (χ² with 49 degrees of freedom below 90, p ≈ 0.0003), and a row stays in place
    /// about once per shuffle as in a uniform permutation. Mutant tried and caught: Sattolo's cycle (j drawn below i
    /// instead of i + 1: still a permutation, never a fixed point).</summary>
    [Fact]
    public void ShuffleIsUniformOverPositions()
    {
        const int rows = 8, epochs = 4000;
        var counts = new int[rows, rows];
        int fixedPoints = 0;
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            var order = Trainer.ShuffledOrder(rows, 42, epoch);
            for (int position = 0; position < rows; position++)
            {
                counts[position, order[position]]++;
                if (order[position] == position) fixedPoints++;
            }
        }
        double expected = (double)epochs / rows, chi2 = 0;
        foreach (int c in counts) chi2 += (c - expected) * (c - expected) / expected;
        Assert.True(chi2 < 90, $"χ² = {chi2:F1} over {rows}×{rows} cells");
        Assert.InRange(fixedPoints / (double)epochs, 0.9, 1.1); // mean 1, sd 1 per shuffle: ±0.1 is 6 standard errors
    }

    /// <summary>The trainer's steps read their numbers (step, the batch's first row, Adam's bias corrections) on the device
    /// from the step record, as CUDA graph replays must: bit for bit the same weights as the same steps launched here
    /// with those numbers as arguments, over a short last batch, a VAE's KL warm-up and noise, and an epoch resumed
    /// mid-way (its schedule starts at that row).</summary>
    [Theory]
    [InlineData("cpu", "ae")]
    [InlineData("cpu", "vae")]
    [InlineData("simd256", "vae")]
    [InlineData("cpu-shared", "ae")]  // the fused step (FusedDense), as on GPUs
    [InlineData("cpu-shared", "vae")]
    public void StepRecordTrainingEqualsStepsLaunchedWithTheirNumbers(string backend, string kind)
    {
        var be = TestBackends.Get(backend);
        // The GPU-shaped accelerator (the fused step) pays operating-system waits per group barrier: narrower layers there.
        int features = backend == "cpu-shared" ? 50 : 784;
        IModel Create() => backend != "cpu-shared" ? Models.Create(be, new ModelSpec(kind, KlWarmupEpochs: 1), 64, stepsPerEpoch: 5)
            : kind == "ae" ? new Autoencoder(be, 64, features: features, hidden: 24, codeSize: 4)
            : new VariationalAutoencoder(be, 64, warmupSteps: 5, features: features, hidden: 24);
        Dataset Synthetic(int count, int seed) => new(Values.Uniform01(count * features, seed), new byte[count], count, features);
        var train = Synthetic(300, 1); var test = Synthetic(64, 2); // batch 64: four full steps and one of 44 rows
        (int Epoch, int FromRow)[] epochs = [(1, 0), (2, 128)];

        var model = Create();
        Assert.Equal(backend == "cpu-shared", model is IFusedStep { Fuses: true });
        model.Initialise(3);
        using (var trainer = new Trainer(be, model, train, test, new TrainOptions(Epochs: 2, Batch: 64, Seed: 5)))
        {
            foreach (var (epoch, fromRow) in epochs) trainer.RunEpoch(new EpochPosition(epoch, fromRow, 0f), null, CancellationToken.None);
            Assert.Equal(8, trainer.Step);
        }

        var byHand = Create();
        byHand.Initialise(3);
        Assert.Equal(0, LaunchWithArguments(be, byHand, train, 64, 1e-3f, 5, epochs));
        Assert.Equal(be.Down(byHand.Parameters.Values), be.Down(model.Parameters.Values));
    }

    /// <summary>The trainer's steps written out with every per-step number as a launch argument (no step record); returns
    /// the step the NaN flag names (0: none).</summary>
    static long LaunchWithArguments(IBackend be, IModel model, Dataset train, int batch, float lr, ulong seed, (int Epoch, int FromRow)[] epochs)
    {
        var images = DeviceImages.Upload(be, train).Images;
        var order = be.AllocateIndices(train.Count); var rowsOut = be.Allocate(batch * train.Features);
        var accumulator = be.Allocate((int)Slot.Count); var flag = be.AllocateIndices(1);
        long step = 0;
        foreach (var (epoch, fromRow) in epochs)
        {
            be.Upload(order, Trainer.ShuffledOrder(train.Count, seed, epoch));
            for (int start = fromRow; start < train.Count; start += batch)
            {
                int rows = Math.Min(batch, train.Count - start);
                step++;
                TrainingStep.Launch(be, model, images, order, start, rows, step, rowsOut, AdamStep.At(step, lr),
                    new NonFiniteWatch(accumulator, (int)Slot.TrainLoss, flag, step), null);
            }
        }
        var flagged = new int[1];
        be.Download(flag, flagged);
        return flagged[0];
    }

    /// <summary>With an absurd learning rate the loss stops being finite; through the step record the NaN flag names
    /// the same step as when the steps carry their numbers as arguments, and a step past the first: the record was read,
    /// not a zero.</summary>
    [Theory]
    [InlineData("cpu")]
    [InlineData("simd256")]
    [InlineData("cpu-shared")]
    public void DivergenceIsFlaggedAtTheSameStepThroughTheStepRecord(string backend)
    {
        var be = TestBackends.Get(backend);
        int features = backend == "cpu-shared" ? 50 : 784; // as above
        var data = new Dataset(Values.Uniform01(640 * features, 9), new byte[640], 640, features);
        IModel Fresh() { var m = new Autoencoder(be, 64, features: features, hidden: backend == "cpu-shared" ? 24 : 256); m.Initialise(1); return m; }
        using var trainer = new Trainer(be, Fresh(), data, data, new TrainOptions(Batch: 64, LearningRate: 1e30f)) { HostReadInterval = 1 };
        long recorded = Assert.Throws<TrainingDiverged>(() => trainer.RunEpoch(1)).Step;
        Assert.InRange(recorded, 2, 10);
        Assert.Equal(recorded, LaunchWithArguments(be, Fresh(), data, 64, 1e30f, 42, [(1, 0)]));
    }

    /// <summary>Interrupted (Ctrl-C) a few steps after the loss became NaN, before the trainer read its flag: the stop is a
    /// divergence, not a position to checkpoint and resume (which would replace the last good checkpoint with NaN weights).</summary>
    [Fact]
    public void AnInterruptionAfterTheLossWentBadReportsTheDivergence()
    {
        var be = (IlgpuBackend)Cpu.Backend;
        var data = new Dataset(Values.Uniform01(640 * 784, 9), new byte[640], 640, 784);
        var model = new Autoencoder(be, 64);
        model.Initialise(1);
        using var cancel = new CancellationTokenSource();
        int adamLaunches = 0;
        be.Launched = operation => { if (operation.StartsWith("Adam") && ++adamLaunches == 9) cancel.Cancel(); };
        try
        {
            // No reads of the flag inside the epoch: only the stop can notice (the loss is bad from step 2 to 10, see above).
            using var trainer = new Trainer(be, model, data, data, new TrainOptions(Batch: 64, LearningRate: 1e30f)) { HostReadInterval = int.MaxValue };
            var diverged = Assert.Throws<TrainingDiverged>(() => trainer.RunEpoch(new EpochPosition(1, 0, 0f), null, cancel.Token));
            Assert.InRange(diverged.Step, 2, 9);
        }
        finally { be.Launched = null; }
    }
}
