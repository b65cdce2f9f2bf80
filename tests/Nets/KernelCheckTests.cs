using GpuAe.Kernels;
using GpuAe.Nets.Diagnostics;
using GpuAe.Nets;
using GpuAe.Simd;
using Xunit;

namespace GpuAe.Tests.Nets;

public class KernelCheckTests
{
    /// <summary>A device that throws in one kernel gets that kernel reported as failed, with what it threw, and every
    /// other comparison still runs.</summary>
    [Fact]
    public void AKernelThatThrowsIsAFailureAndTheOthersStillRun()
    {
        using var reference = new SimdBackend(VectorPath.Scalar, threads: 1);
        // The CPU accelerator, but gathering rows throws, as a launch a driver refuses would.
        var device = (IlgpuBackend)Cpu.Backend;
        device.Launched = operation =>
        {
            if (operation.StartsWith("gather rows")) throw new InvalidOperationException("launch failed with CUDA error 98");
        };
        List<CheckResult> results;
        try { results = KernelCheck.Run(device, reference).ToList(); }
        finally { device.Launched = null; }
        var gather = Assert.Single(results, r => r.Kernel == "gather rows");
        Assert.False(gather.Passed);
        Assert.True(gather.Error!.Contains("CUDA error 98"), gather.Error);
        // Both record-driven epochs gather their batches: they fail too; everything else agrees exactly.
        Assert.Equal(["gather rows", "step record: begin step, gather, noise, Adam", "ae: epoch by the step record (CUDA: graph)",
            "vae: epoch by the step record (CUDA: graph)"], results.Where(r => !r.Passed).Select(r => r.Kernel));
        Assert.True(results.Count > 20);
    }
}
