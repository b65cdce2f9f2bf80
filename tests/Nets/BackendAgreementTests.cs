using GpuAe.Kernels;
using GpuAe.Nets.Data;
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
        const int rows = 24; // a partial group of the fused step's rows; more only repeat the same per-row work
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
        AssertSameMetrics(kind, "SIMD", Train(Cpu.Backend), Train(TestBackends.Get("simd512")));
    }

    static void AssertSameMetrics(string kind, string backend, EpochMetrics cpu, EpochMetrics other)
    {
        foreach (var (name, a, b) in new[] { ("train loss", cpu.TrainLoss, other.TrainLoss), ("test loss", cpu.TestLoss, other.TestLoss),
                                              ("test KL", cpu.TestKl, other.TestKl), ("test MSE", cpu.TestMse, other.TestMse) })
            Assert.True(Math.Abs(a - b) <= 1e-3 * Math.Abs(a) + 1e-9, $"{kind} {name}: CPU accelerator {a}, {backend} {b}");
    }

    /// <summary>The path CUDA and OpenCL train the dense models by today: the GPU kernel set (shared-memory GEMM, K split
    /// below 64 tiles) launched kernel by kernel, the dense steps not fused. The GPU-shaped "cpu-shared" backend is opened
    /// to fuse them, so this Trainer path was never trained in a test. An epoch (3 steps, a partial last batch of 32) of a narrow
    /// model (120 → 40 → 3 or 6; the production widths take about 13 minutes on the CPU accelerator's emulated groups)
    /// gives the CPU accelerator's metrics within 1e-3 (two epochs, as before 2026-12-05, took twice as long). Mutant:
    /// the shared-memory GEMM's split count rounded down (K = 120 in 32-deep splits loses its last 24) → caught.</summary>
    [Theory]
    [InlineData("ae")]
    [InlineData("vae")]
    public void TheGpuKernelSetUnfusedTrainsAsTheCpuAccelerator(string kind)
    {
        const int features = 120, hidden = 40, latent = 3, batch = 64;
        var train = new Dataset(Values.Uniform01(160 * features, 31), new byte[160], 160, features);
        var test = new Dataset(Values.Uniform01(50 * features, 32), new byte[50], 50, features);
        EpochMetrics Train(IBackend be)
        {
            AutoencoderBase model = kind == "ae"
                ? new Autoencoder(be, batch, Activation.Relu, features, hidden, latent)
                : new VariationalAutoencoder(be, batch, latent, beta: 1f, warmupSteps: 0, features: features, hidden: hidden);
            model.Initialise(21);
            Assert.False(model.Fuses, $"{kind} must train kernel by kernel here");
            using var trainer = new Trainer(be, model, train, test, new TrainOptions(1, batch, 1e-3f, 21));
            return trainer.RunEpoch(1);
        }
        var gpu = (IlgpuBackend)TestBackends.Get("cpu-shared"); // the GPU kernel set, K split below 64 tiles, opened to fuse
        Assert.Equal(KernelSet.Gpu, gpu.KernelSet);
        var cpu = Train(Cpu.Backend);
        gpu.FuseDenseSteps = false;
        try { AssertSameMetrics(kind, "the GPU kernel set, unfused", cpu, Train(gpu)); }
        finally { gpu.FuseDenseSteps = true; }
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
