using GpuAe.Kernels;
using GpuAe.Simd;

namespace GpuAe.Nets;

/// <summary>Opens a compute backend by its command-line name; the models and the trainer only see <see cref="IBackend"/>.</summary>
public static class Backends
{
    public static readonly string[] Names = ["auto", "cpu", "cuda", "opencl", "simd"];

    /// <summary>auto = CUDA, then a usable OpenCL device, then the SIMD host backend; cpu = ILGPU's CPU accelerator.
    /// With <paramref name="fuseDenseSteps"/>, an ILGPU device that can runs the dense models' steps fused
    /// (<see cref="IFusedDenseSteps"/>).</summary>
    public static IBackend Open(string device, bool fuseDenseSteps = false)
    {
        switch (device)
        {
            case "simd":
                return new SimdBackend();
            case "auto":
                var gpu = IlgpuBackend.ListDevices().FirstOrDefault(d => d.Usable && d.Kind is "cuda" or "opencl");
                return gpu is null ? new SimdBackend() : IlgpuBackend.Open(gpu.Kind, fuseDenseSteps: fuseDenseSteps);
            case "cpu" or "cuda" or "opencl":
                return IlgpuBackend.Open(device, fuseDenseSteps: fuseDenseSteps);
            default:
                throw new UserError($"unknown device '{device}': use {string.Join(", ", Names)}");
        }
    }

    /// <summary>A second backend on the same device that runs the dense steps fused, or null where the device cannot:
    /// what `check` and `bench` compare the kernel-by-kernel step with.</summary>
    public static IBackend? OpenFused(string device)
    {
        var backend = Open(device, fuseDenseSteps: true);
        if (backend is IFusedDenseSteps { FusesDenseSteps: true }) return backend;
        backend.Dispose();
        return null;
    }

    public static IReadOnlyList<DeviceInfo> List()
    {
        var path = VectorPaths.Best;
        var simd = new DeviceInfo("simd", "SIMD host backend", true,
            $"{path}, {VectorPaths.Width(path)} floats per vector, {Environment.ProcessorCount} threads; plain C# with System.Runtime.Intrinsics");
        return [.. IlgpuBackend.ListDevices(), simd];
    }
}
