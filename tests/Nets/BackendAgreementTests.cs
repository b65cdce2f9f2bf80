using GpuAe.Kernels;
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
}
