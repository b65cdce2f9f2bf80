using GpuAe.Kernels;
using GpuAe.Nets.Model;
using GpuAe.Nets.Training;
using GpuAe.Nets;
using Xunit;

namespace GpuAe.Tests.Nets;

/// <summary>Whole training steps give the same gradients on every backend as on ILGPU's CPU accelerator.</summary>
public class BackendAgreementTests
{
    public static IEnumerable<object[]> Cases =>
        from backend in TestBackends.Names.Where(n => n != "cpu") from kind in new[] { "ae", "vae" } select new object[] { backend, kind };

    /// <summary>Same weights, same batch of real images, same step (so the same VAE noise): every gradient agrees.
    /// The backends sum in different orders (8×8 tiles vs fused multiply-adds along K), so float32 results differ by
    /// rounding: 1e-4 relative to (1 + |g|) is ~1000 ulps of the largest terms, far below any real bug.</summary>
    [Theory, MemberData(nameof(Cases))]
    public void OneStepGivesTheSameGradientsAsTheCpuAccelerator(string backend, string kind)
    {
        const int rows = 64;
        var images = RealData.Train.Take(rows).Pixels;
        float[] Gradients(IBackend be)
        {
            var model = Models.Create(be, new ModelSpec(kind), rows, stepsPerEpoch: 1);
            model.Initialise(11);
            var acc = be.Allocate((int)Slot.Count);
            model.TrainStep(be.Up(images), rows, 3, acc);
            var grads = be.Down(model.Parameters.Gradients);
            return [.. grads, be.Down(acc)[(int)Slot.TrainLoss] / rows];
        }
        var expected = Gradients(Cpu.Backend);
        var actual = Gradients(TestBackends.Get(backend));
        Values.AssertClose(expected, actual, 1e-4, $"{kind} gradients and loss on {backend}");
    }

    /// <summary>Training itself agrees: two epochs (16 steps) on 1,024 real images give test metrics within 1e-3 relative
    /// on the SIMD backend and on the CPU accelerator. Rounding differences grow through training, but over 16 steps they
    /// stay around 1e-5; a wrong kernel or a different noise or shuffle would move the loss by whole percents.</summary>
    [Theory]
    [InlineData("ae")]
    [InlineData("vae")]
    public void TrainingOnSimdMatchesTheCpuAccelerator(string kind)
    {
        var train = RealData.Train.Take(1024);
        var test = RealData.Test.Take(500);
        EpochMetrics Train(IBackend be)
        {
            var model = Models.Create(be, new ModelSpec(kind), 128, stepsPerEpoch: 8);
            model.Initialise(21);
            var trainer = new Trainer(be, model, train, test, new TrainOptions(2, 128, 1e-3f, 21));
            trainer.RunEpoch(1);
            return trainer.RunEpoch(2);
        }
        var cpu = Train(Cpu.Backend);
        var simd = Train(TestBackends.Get("simd512"));
        foreach (var (name, a, b) in new[] { ("train loss", cpu.TrainLoss, simd.TrainLoss), ("test loss", cpu.TestLoss, simd.TestLoss),
                                              ("test KL", cpu.TestKl, simd.TestKl), ("test MSE", cpu.TestMse, simd.TestMse) })
            Assert.True(Math.Abs(a - b) <= 1e-3 * Math.Abs(a) + 1e-9, $"{kind} {name}: CPU accelerator {a}, SIMD {b}");
    }
}

/// <summary>The SIMD backend's results do not depend on its thread count: an epoch of each model on 1 and on 3 threads
/// ends with bit-identical weights and metrics.</summary>
public class SimdThreadCountTests
{
    [Theory]
    [InlineData("ae")]
    [InlineData("vae")]
    [InlineData("conv-vae")]
    public void OneAndThreeThreadsTrainBitIdentically(string kind)
    {
        var train = RealData.Train.Take(kind.StartsWith("conv") ? 256 : 1000); var test = RealData.Test.Take(200);
        (EpochMetrics, float[]) Run(int threads)
        {
            using var be = new GpuAe.Simd.SimdBackend(threads: threads);
            var model = Models.Create(be, new ModelSpec(kind), 64, stepsPerEpoch: 16);
            model.Initialise(4);
            using var trainer = new Trainer(be, model, train, test, new TrainOptions(1, 64, 1e-3f, 4));
            var metrics = trainer.RunEpoch(1) with { Seconds = 0 };
            return (metrics, be.Down(model.Parameters.Values));
        }
        var (oneMetrics, oneWeights) = Run(1);
        var (threeMetrics, threeWeights) = Run(3);
        Assert.Equal(oneMetrics, threeMetrics);
        Assert.Equal(oneWeights, threeWeights);
    }
}
